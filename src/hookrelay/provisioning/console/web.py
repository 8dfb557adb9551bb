"""The console's and the portal's request handling, apart from Chalice: a :class:`WebRequest` in, a
:class:`WebReply` out. Reads go through the provisioner's operations (``status``, ``deliveries``) and
actions call them (``disable``, ``enable``, ``rotate_secret``, ``publish``, ``portal_link``), so the
console answers what the REST API answers. Every failure is a page with its status: a domain error its
own (4xx, 503), a bad or expired token 401, a missing CSRF token 403; anything else a bare 500 page.

Operators log in with the stage's console token (Secrets Manager) and get a signed session cookie:
HttpOnly, SameSite=Strict, Secure over https, expiring. Every state-changing request carries the
session's CSRF token in its form. Portal pages take the partner from their signed token only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from hookrelay.attempts.log import AttemptLog, webhook_attempts
from hookrelay.errors import HookrelayError, InvalidInput, NotFound, Unauthorized
from hookrelay.models import AttemptRecord
from hookrelay.provisioning.api import check_partner_id
from hookrelay.provisioning.console import fleet_html, pages, partner_html, webhook_html
from hookrelay.provisioning.console.actions import ACTIONS
from hookrelay.provisioning.console.door import Door
from hookrelay.provisioning.console.fleet import FleetQuery, fleet_page
from hookrelay.provisioning.console.portal import Portal
from hookrelay.provisioning.console.static import FILES
from hookrelay.provisioning.console.stats import last_hour
from hookrelay.provisioning.console.wire import (
    COOKIE,
    SECURITY_HEADERS,
    Forbidden,
    WebReply,
    WebRequest,
    html_reply,
    redirect,
)
from hookrelay.provisioning.messages.view import check_webhook_id

logger = logging.getLogger(__name__)
UNAVAILABLE = "the service is unavailable; try again shortly"


@dataclass
class Console(Door):
    """The operator console; hands the portal's requests to :class:`Portal`."""

    def __post_init__(self) -> None:
        self.portal = Portal(self.api, self.settings)

    def handle(self, name: str, request: WebRequest) -> WebReply:
        """Run the handler ``name``; every failure becomes a page (see the module docstring)."""
        session = None
        try:
            if name == "static":
                return self.static(request)
            if name == "login":
                return self.login(request)
            if name in ("portal", "portal_action"):
                return getattr(self.portal, name)(request)  # type: ignore[no-any-return]
            session = self.session(request)
            if session is None:
                if request.method == "GET":
                    return redirect(f"{request.base}/console/login")
                raise Unauthorized("log in first: no valid session")
            return getattr(self, name)(request, session)  # type: ignore[no-any-return]
        except HookrelayError as exc:
            if exc.status_code >= 500:
                logger.error("console request failed", extra={"handler": name, "error": exc.message})
            # a 5xx's message may name internal resources (a role ARN, a secret id): operators only
            text = exc.message if exc.status_code < 500 or session else UNAVAILABLE
            return html_reply(
                exc.status_code, pages.error_page(request.base, exc.status_code, text, bool(session))
            )
        except Exception:
            logger.exception("unexpected console failure", extra={"handler": name})
            return html_reply(500, pages.error_page(request.base, 500, "unexpected failure; see the logs"))

    # -- sessions --------------------------------------------------------------------------------------

    def session(self, request: WebRequest) -> dict[str, Any] | None:
        cookie = request.cookie(COOKIE)
        if not cookie:
            return None
        try:
            return self.keys().verify("session", cookie, self.ctx.clock())
        except Unauthorized:
            return None

    def _checked(self, request: WebRequest, session: dict[str, Any]) -> dict[str, str]:
        form = request.form()
        if not self.keys().csrf_matches(session, form.get("csrf", "")):
            raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again")
        return form

    def _cookie(self, request: WebRequest, value: str, max_age: int) -> str:
        secure = "; Secure" if request.https else ""
        return f"{COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}"

    def login(self, request: WebRequest) -> WebReply:
        if request.method == "GET":
            return html_reply(200, pages.login_page(request.base))
        keys = self.keys()
        if not keys.token_matches(request.form().get("token", "")):
            logger.warning("console login refused: not the operator token")  # never the offered value
            return html_reply(401, pages.login_page(request.base, "That is not the operator token."))
        hours = self.settings().console_session_hours
        cookie = self._cookie(request, keys.session(self.ctx.clock(), hours), int(hours * 3600))
        logger.info("console login")
        return redirect(f"{request.base}/console", **{"Set-Cookie": cookie})

    def logout(self, request: WebRequest, session: dict[str, Any]) -> WebReply:
        self._checked(request, session)
        return redirect(f"{request.base}/console/login", **{"Set-Cookie": self._cookie(request, "", 0)})

    # -- operator pages ----------------------------------------------------------------------------------

    def fleet(self, request: WebRequest, session: dict[str, Any]) -> WebReply:
        query = FleetQuery.from_query(dict(request.query))
        fleet = fleet_page(self.ctx, query)
        return html_reply(
            200, fleet_html.fleet_page_html(request.base, self.keys().csrf(session), query, fleet)
        )

    def partner(self, request: WebRequest, session: dict[str, Any]) -> WebReply:
        pid = request.path_params["id"]
        state = self.call("status", pid)
        records, next_cursor = self.deliveries(pid, request.query.get("cursor"))
        hour = last_hour(AttemptLog(self.ctx.stage, clients=self.ctx.clients), pid, self.ctx.clock())
        html = partner_html.partner_page_html(
            request.base,
            self.keys().csrf(session),
            state,
            hour,
            records,
            next_cursor,
            request.query.get("done"),
        )
        return html_reply(200, html)

    def webhook(self, request: WebRequest, session: dict[str, Any]) -> WebReply:
        """The kept webhook (payload, attempts, resend); one the store no longer keeps: its attempts."""
        pid, wid = request.path_params["id"], unquote(request.path_params["webhook_id"])
        self.ctx.partners.get(check_partner_id(pid))  # an unknown partner is a 404 page of its own
        try:
            kept: dict[str, Any] | None = self.call("get_webhook", pid, webhook_id=wid)
        except NotFound:  # not kept (never, or expired: Expired is a NotFound)
            kept = None
        if kept is not None:
            shared = {"webhook_id": wid, "partner_id": pid, "topic": kept["topic"]}
            records = [
                AttemptRecord.model_validate({**a, **shared, "url": a.get("url") or ""})
                for a in reversed(kept["attempts"])
            ]
        else:
            log = AttemptLog(self.ctx.stage, clients=self.ctx.clients)
            records = list(reversed(webhook_attempts(log, pid, check_webhook_id(wid))))
        csrf = self.keys().csrf(session)
        html = webhook_html.webhook_page(
            request.base, csrf, pid, wid, records, kept, request.query.get("done")
        )
        return html_reply(200, html)

    def resend(self, request: WebRequest, session: dict[str, Any]) -> WebReply:
        pid, wid = request.path_params["id"], unquote(request.path_params["webhook_id"])
        self._checked(request, session)
        self.call("resend", pid, webhook_id=wid)
        logger.info("console action", extra={"partner_id": pid, "action": "resend", "webhook_id": wid})
        return redirect(f"{request.base}/console/partners/{pid}/webhooks/{quote(wid, safe='')}?done=resend")

    def replay_state(self, request: WebRequest, session: dict[str, Any]) -> WebReply:
        pid, rid = request.path_params["id"], request.path_params["replay_id"]
        state = self.call("replay_state", pid, replay_id=rid)
        return html_reply(200, webhook_html.replay_page(request.base, self.keys().csrf(session), state))

    def action(self, request: WebRequest, session: dict[str, Any]) -> WebReply:
        pid, name = request.path_params["id"], request.path_params["action"]
        form = self._checked(request, session)
        action = ACTIONS.get(name)
        if action is None:
            raise InvalidInput(f"unknown action {name!r}; one of {', '.join(ACTIONS)}")
        body = action.from_form(form) if action.from_form else dict(action.body)
        answer = self.call(action.operation, pid, body)
        csrf = self.keys().csrf(session)
        logger.info("console action", extra={"partner_id": pid, "action": name})
        if action.answer == "secret":
            html = pages.secret_page(request.base, csrf, pid, answer["secret"], answer["previous_expires_at"])
            return html_reply(200, html)
        if action.answer == "replay":
            return redirect(f"{request.base}/console/partners/{pid}/replays/{answer['replay_id']}")
        if action.answer == "link":
            url = answer["url"] if "://" in answer["url"] else f"{request.base}{answer['url']}"
            return html_reply(200, pages.link_page(request.base, csrf, pid, url, answer["expires_at"]))
        return redirect(f"{request.base}/console/partners/{pid}?done={name}")

    # -- static ------------------------------------------------------------------------------------------

    def static(self, request: WebRequest) -> WebReply:
        found = FILES.get(request.path_params.get("name", ""))
        if found is None:
            return html_reply(404, pages.error_page(request.base, 404, "no such file"))
        content_type, text = found
        headers = {
            **SECURITY_HEADERS,
            "Content-Type": f"{content_type}; charset=utf-8",
            "Cache-Control": "max-age=300",
        }
        return WebReply(200, text, headers)
