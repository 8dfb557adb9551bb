"""Signed tokens of the browser doors: operator sessions, their CSRF tokens, partner portal links.

Every token is ``<base64url JSON claims>.<base64url HMAC-SHA256>``, the MAC over a purpose label and the
claims, so a token of one purpose never passes for another (a portal link is no session, a session no
portal link). The keys derive from the stage's console token in Secrets Manager
(:func:`hookrelay.naming.console_secret`): HMAC(token, "hookrelay-console/<purpose>"). Replacing the
token ends every session and voids every portal link at once. Claims carry an expiry (``e``, epoch
seconds); verification is constant-time and says only "invalid" or "expired", never why in detail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field

from hookrelay import naming
from hookrelay.app_settings import CommonSettings
from hookrelay.aws.clients import Clients
from hookrelay.aws.secrets import read_secret
from hookrelay.caching import TtlCache
from hookrelay.errors import DependencyUnavailable, NotFound, Unauthorized

SESSION, CSRF, PORTAL = "session", "csrf", "portal"
KEY_CACHE_SECONDS = 60


class ConsoleSettings(CommonSettings):
    """``HOOKRELAY_CONSOLE_URL``: the provisioner's public base URL (portal links start with it)."""

    console_url: str | None = Field(default=None, description="e.g. https://abc.execute-api.../api")
    console_session_hours: float = Field(default=8.0, gt=0, le=24 * 7)
    portal_link_seconds: int = Field(default=3600, ge=60, le=7 * 86_400, description="default link life")


class BadToken(Unauthorized):
    """A token that is malformed, forged, of another purpose, or expired (401)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class ConsoleKeys:
    """The operator token and the keys derived from it (one per purpose)."""

    operator_token: str

    def key(self, purpose: str) -> bytes:
        return hmac.new(
            self.operator_token.encode(), f"hookrelay-console/{purpose}".encode(), "sha256"
        ).digest()

    def token_matches(self, offered: str) -> bool:
        return hmac.compare_digest(offered.encode(), self.operator_token.encode())

    def sign(self, purpose: str, claims: dict[str, Any]) -> str:
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        mac = hmac.new(self.key(purpose), body.encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(mac)}"

    def verify(self, purpose: str, token: str, now: datetime) -> dict[str, Any]:
        """The claims of a token of this purpose that has not expired; :class:`BadToken` otherwise."""
        body, _, mac = token.partition(".")
        try:
            expected = hmac.new(self.key(purpose), body.encode(), hashlib.sha256).digest()
            if not body or not hmac.compare_digest(_unb64(mac), expected):
                raise BadToken("invalid token")
            claims = json.loads(_unb64(body))
        except (ValueError, binascii.Error, UnicodeError) as exc:
            raise BadToken("invalid token") from exc
        if not isinstance(claims, dict) or not isinstance(claims.get("e"), int):
            raise BadToken("invalid token")
        if claims["e"] <= now.timestamp():
            raise BadToken("expired token")
        return claims

    def session(self, now: datetime, hours: float) -> str:
        """A new operator session: a random id and an expiry."""
        return self.sign(SESSION, {"n": secrets.token_urlsafe(16), "e": int(now.timestamp() + hours * 3600)})

    def csrf(self, session_claims: dict[str, Any]) -> str:
        """The CSRF token of a session: an HMAC of its id (a form must carry it; a cookie alone cannot)."""
        mac = hmac.new(self.key(CSRF), str(session_claims.get("n", "")).encode(), hashlib.sha256).digest()
        return _b64(mac)

    def csrf_matches(self, session_claims: dict[str, Any], offered: str) -> bool:
        return hmac.compare_digest(offered.encode(), self.csrf(session_claims).encode())

    def portal_token(self, partner_id: str, expires_at: datetime) -> str:
        return self.sign(PORTAL, {"p": partner_id, "e": int(expires_at.timestamp())})

    def portal_partner(self, token: str, now: datetime) -> str:
        """The partner a portal token was issued for (:class:`BadToken` if invalid or expired)."""
        partner = self.verify(PORTAL, token, now).get("p")
        if not isinstance(partner, str):
            raise BadToken("invalid token")
        return partner


_caches: dict[tuple[str, int], TtlCache[ConsoleKeys]] = {}
_lock = threading.Lock()


def console_keys(stage: str, clients: Clients) -> ConsoleKeys:
    """The stage's console keys, read at most once a minute per process (a replaced token lands within
    that). A missing secret is a 503 that names it: the console is not set up (docs/console.md)."""
    secret_id = naming.console_secret(stage)
    client = clients.secretsmanager
    with _lock:
        cache = _caches.setdefault(
            (secret_id, id(client)),
            TtlCache(lambda: read_secret(secret_id, "console token", _parse, client), KEY_CACHE_SECONDS),
        )
    try:
        return cache.get()
    except NotFound as exc:
        raise DependencyUnavailable(
            f"the console is not set up: create the secret {secret_id} (docs/console.md)"
        ) from exc


def _parse(text: str) -> ConsoleKeys:
    if len(text.strip()) < 16:
        raise ValueError("the console token must be at least 16 characters")
    return ConsoleKeys(text.strip())


def forget_console_keys() -> None:
    """Drop cached keys (tests that make a new secret under the same name)."""
    with _lock:
        _caches.clear()
