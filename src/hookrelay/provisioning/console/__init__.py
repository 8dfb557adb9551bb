"""The operator console (``/console``) and the partner portal (``/portal``): server-rendered HTML on the
provisioner app, a little static JS, no build step. See docs/console.md.

- :mod:`.routes`: ``register_console(app, api, Response)``, the one call provisioner/app.py makes;
- :mod:`.web`: the operator console's request handling (sessions, CSRF, pages, :mod:`.actions`),
  apart from Chalice; :mod:`.portal`: the partner portal's; both on :mod:`.door` (the operations they
  call) and :mod:`.wire` (request, reply, security headers);
- :mod:`.pages`, :mod:`.fleet_html`, :mod:`.partner_html`, :mod:`.webhook_html` over :mod:`.html`:
  rendering, escaped by default; :mod:`.static`: the script and the stylesheet;
- :mod:`.fleet`, :mod:`.stats`, :mod:`.ages`: the fleet page's data (a page of partners at a time), the
  last hour from the attempt log, the oldest message ages from CloudWatch (one call per page).
"""

from __future__ import annotations

from hookrelay.provisioning.console.routes import register_console

__all__ = ["register_console"]
