"""Delivery: the per-partner handler Lambda's work, from an SQS batch to signed POSTs and back.

``batch`` runs a Lambda batch (``handle_batch``) and each record (``handle_record``); ``decide`` chooses a
record's next step from the facts alone (pure, tested as a table); ``settle`` carries the step out on SQS,
confirmed before the record is reported done; ``report`` builds the attempt record (once), the log line
and the metrics; ``attempt`` makes one signed POST; ``transport`` pins the connection to the address the
SSRF guard checked; ``deps`` builds what a partner's handler needs. The data plane: may import the kernel,
``aws``, ``signing`` and ``attempts``; never ``provisioning``, ``receiving``, ``alarms`` or ``mover``.
"""
