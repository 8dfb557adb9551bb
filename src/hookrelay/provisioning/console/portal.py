"""The partner portal: a partner's own attempt log, a test event, a resend of a failed webhook, all under
the signed token of a portal link (the partner comes from the token only, never from the request)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote

from hookrelay.errors import Conflict, InvalidInput, Unauthorized
from hookrelay.provisioning.console import pages
from hookrelay.provisioning.console.door import TEST_EVENT, Door
from hookrelay.provisioning.console.wire import WebReply, WebRequest, html_reply, redirect

logger = logging.getLogger(__name__)


@dataclass
class Portal(Door):
    def _portal_partner(self, token: str) -> str:
        if not token:
            raise Unauthorized("this page needs the link's token: ask for a new portal link")
        try:
            return self.keys().portal_partner(token, self.ctx.clock())
        except Unauthorized as exc:
            raise Unauthorized(
                f"this portal link is invalid or has expired ({exc.message}): ask for a new one"
            ) from exc

    def portal(self, request: WebRequest) -> WebReply:
        token = request.query.get("token", "")
        pid = self._portal_partner(token)
        partner = self.ctx.partners.get(pid).model_dump(mode="json")
        records, more = self.deliveries(pid, request.query.get("cursor"))
        html = pages.portal_page(request.base, token, partner, records, request.query.get("done"), more)
        return html_reply(200, html)

    def portal_action(self, request: WebRequest) -> WebReply:
        """The portal's two actions: a test event, and resending a webhook no attempt delivered."""
        name = request.path_params.get("action")
        if name not in ("test-event", "resend"):
            raise InvalidInput("the portal's actions are test-event and resend")
        form = request.form()
        token = form.get("token", "")
        pid = self._portal_partner(token)
        if name == "resend":
            wid = form.get("webhook_id", "")
            if self.call("get_webhook", pid, webhook_id=wid)["delivered"]:
                raise Conflict(f"webhook {wid} was delivered: nothing to resend")
            self.call("resend", pid, webhook_id=wid)
        else:
            self.call("publish", pid, TEST_EVENT)
        logger.info("portal action", extra={"partner_id": pid, "action": name})
        return redirect(f"{request.base}/portal?token={quote(token)}&done={name}")
