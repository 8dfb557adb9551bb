"""The mover: messages from one queue to another (DLQ redrive) without losing one.

``engine`` runs a move (workers receiving, ``batch`` sending then deleting exactly what was confirmed),
``messages`` copies bodies, attributes and FIFO ids, ``queues`` resolves them, ``request`` and ``state``
are the run's input and shared progress; ``cli`` is ``sqs-mv``. May import the kernel and ``aws`` only.
"""
