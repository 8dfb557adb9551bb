"""Delivery: the per-partner handler Lambda's work, from an SQS batch to signed POSTs and back.

``batch`` runs a Lambda batch, ``attempt`` makes one signed POST, ``transport`` pins the connection to the
address the SSRF guard checked. The data plane: may import the kernel, ``aws``, ``signing`` and
``attempts``; never ``provisioning``, ``receiving``, ``alarms`` or ``mover``.
"""
