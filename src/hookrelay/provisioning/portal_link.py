"""``POST /partners/{id}/portal-link``: a URL that lets one partner read its own deliveries for a while.

The URL carries a token signed with the stage's portal key (:mod:`hookrelay.provisioning.access`): the
partner id and an expiry (default ``portal_link_seconds``, one hour). Whoever holds the URL sees that
partner's attempt log and may send it a test event, nothing else; it needs no login. The link is only
as secret as where it is sent: it is for the partner's own people.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from hookrelay.models import UtcDatetime
from hookrelay.provisioning.access import ConsoleSettings, console_keys
from hookrelay.provisioning.context import Provisioner

PORTAL_PATH = "/portal"


class PortalLinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in_seconds: int | None = Field(
        default=None, ge=60, le=7 * 86_400, description="how long the link works; default one hour"
    )


class PortalLink(BaseModel):
    partner_id: str
    url: str = Field(description="absolute when HOOKRELAY_CONSOLE_URL is set, else a path on the API")
    expires_at: UtcDatetime


def portal_link(ctx: Provisioner, partner_id: str, request: PortalLinkRequest) -> PortalLink:
    """A signed link for an existing partner (404 for an unknown one; 503 if the console is not set up)."""
    ctx.partners.get(partner_id)
    settings = ConsoleSettings()
    seconds = request.expires_in_seconds or settings.portal_link_seconds
    expires_at = (ctx.clock() + timedelta(seconds=seconds)).replace(microsecond=0)
    token = console_keys(ctx.stage, ctx.clients).portal_token(partner_id, expires_at)
    base = (settings.console_url or "").rstrip("/")
    return PortalLink(
        partner_id=partner_id, url=f"{base}{PORTAL_PATH}?token={quote(token)}", expires_at=expires_at
    )
