"""The operator console (``/console``) and the partner portal (``/portal``): server-rendered HTML on the
provisioner app, a little static JS, no build step. See docs/console.md.

- :mod:`.routes`: ``register_console(app, api, Response)``, the one call provisioner/app.py makes;
- :mod:`.web`: the request handling (sessions, CSRF, actions, the portal), apart from Chalice;
- :mod:`.pages` over :mod:`.html`: rendering, escaped by default; :mod:`.static`: the script and styles;
- :mod:`.fleet` and :mod:`.stats`: the fleet page's data (a page of partners at a time) and the last hour.
"""

from __future__ import annotations

from hookrelay.provisioning.console.routes import register_console

__all__ = ["register_console"]
