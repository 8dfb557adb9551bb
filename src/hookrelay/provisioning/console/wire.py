"""What goes over the wire: a request as the console reads it, its reply, the headers every page carries
(no inline script, no framing, no sniffing, no referrer, no caching)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from hookrelay.errors import HookrelayError, PayloadTooLarge
from hookrelay.provisioning.console.html import Safe

COOKIE = "hookrelay_console"
MAX_FORM_BYTES = 4096
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Forbidden(HookrelayError):
    status_code = 403
    code = "forbidden"


@dataclass(frozen=True)
class WebRequest:
    method: str
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    base: str = ""  # the path the API is mounted under ("/api" behind API Gateway's stage)
    https: bool = False

    def cookie(self, name: str) -> str | None:
        for part in self.headers.get("cookie", "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None

    def form(self) -> dict[str, str]:
        if len(self.body) > MAX_FORM_BYTES:
            raise PayloadTooLarge(f"a form is at most {MAX_FORM_BYTES} bytes")
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}


@dataclass
class WebReply:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def html_reply(status: int, body: Safe, **headers: str) -> WebReply:
    return WebReply(status, body, {"Content-Type": "text/html; charset=utf-8", **SECURITY_HEADERS, **headers})


def redirect(location: str, **headers: str) -> WebReply:
    return WebReply(303, "", {"Location": location, **SECURITY_HEADERS, **headers})
