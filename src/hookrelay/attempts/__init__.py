"""Attempts: the record of every delivery attempt, from the handler to the operator.

``lines`` is the contract of attempt records as log lines (a partner's handler writes one marked JSON
line per attempt; a CloudWatch Logs subscription hands the marked lines to the stage's recorder);
``log`` writes them into the deliveries table and reads them back (what the stage-wide recorder and the
provisioner do; the recorder runs in the provisioner app, never in a partner's Lambda), ``settings``
the recorder's settings. May import the kernel, ``aws`` and ``partners``.
"""
