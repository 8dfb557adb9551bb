"""The AWS resources one partner (or the stage) owns, one module per kind; each creates idempotently,
reconfigures, describes and deletes its own. May import the kernel, ``aws``, ``signing`` and ``partners``.
"""
