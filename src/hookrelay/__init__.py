"""hookrelay core: a small kernel, shared services over it, one wing per concern. Never imports chalice.

The kernel (top-level modules: ``errors``, ``models``, ``naming``, ``settings``, ``observability``,
``caching``, ``retry``, ``ssrf``, ``health_notice``) imports nothing from the packages. The shared
services (``aws``, ``signing``, ``partners``, ``attempts``) import the kernel and the services before
them in that order.
The wings (``delivery``, ``provisioning``, ``receiving``, ``alarms``, ``mover``) import the kernel and
the shared services, never each other. ``make lint`` checks these arrows (import-linter, pyproject.toml).
"""

__version__ = "0.1.0"
USER_AGENT = f"hookrelay/{__version__} (+https://github.com/hookrelay/hookrelay)"
