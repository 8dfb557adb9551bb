"""Provisioning: the control plane. Each partner's resources (``resources``: queues, function, mapping,
IAM, monitoring, secrets, versions and the ``live`` alias, the stage's shared resources), their lifecycle
(``lifecycle``, ``changes``, ``status``, ``rollouts``: asynchronous update-code), publishing
(``publish``) and the API over all of it (``api``, ``openapi``).

May import the kernel and the shared services (``aws``, ``signing``, ``partners``, ``attempts``); never
another app wing (``delivery``, ``receiving``, ``alarms``, ``mover``).
"""
