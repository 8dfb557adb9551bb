"""Attempts: the record of every delivery attempt, from the handler to the operator.

``publisher`` sends attempt records to the stage-wide results queue (what a partner's handler does);
``log`` writes them into the deliveries table and reads them back (what the stage-wide recorder and the
provisioner do; the recorder runs in the provisioner app, never in a partner's Lambda), ``settings``
the recorder's settings. May import the kernel, ``aws`` and ``partners``.
"""
