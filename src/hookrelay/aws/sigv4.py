"""Signature Version 4 for :mod:`hookrelay.aws.json_protocol`'s requests, and Lambda's credentials, in stdlib.

Why not botocore's ``SigV4Auth``: importing ``botocore.auth`` and ``botocore.awsrequest`` (with
``botocore.utils``, ``botocore.compat``, dateutil, ``xml.etree``, ``urllib.request``...) costs a handler's
cold start ~24 ms of CPU here, and ``botocore.credentials`` (``botocore.config``, ``endpoint``, ``parsers``,
``model``...) ~8 ms more, for a signature over one fixed request shape: ``POST`` to the endpoint's path, no
query string, a JSON body. This module signs exactly that shape as botocore's signer does, byte for byte
(``tests/unit/test_aws_sigv4.py`` compares the two): every header but those botocore leaves unsigned
(``User-Agent`` among them), ``X-Amz-Date``, ``X-Amz-Security-Token`` when there is a session token, the
body's SHA-256, the ``AWS4-HMAC-SHA256`` ``Authorization`` header.

Credentials: Lambda gives a function its role's credentials in ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``, for the life of the execution environment, with no
``AWS_CREDENTIAL_EXPIRATION``; :func:`environment_credentials` reads those into a frozen
:class:`StaticCredentials`, as botocore's ``EnvProvider`` would. Anything else (no key in the
environment, a partial pair, credentials with an expiry that must refresh) is botocore's resolver's job:
the caller falls back to it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
# Headers botocore's SigV4 signer leaves out of the signature (hop-by-hop, tracing, the user agent).
UNSIGNED_HEADERS = frozenset(
    {
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)


class FrozenCredentials(Protocol):
    """What a signature reads of a set of credentials (botocore's ``ReadOnlyCredentials`` has these)."""

    @property
    def access_key(self) -> str | None: ...
    @property
    def secret_key(self) -> str | None: ...
    @property
    def token(self) -> str | None: ...


@dataclass(frozen=True, repr=False)
class StaticCredentials:
    """Credentials that do not expire (Lambda's, from its environment). The secret is never printed."""

    access_key: str
    secret_key: str
    token: str | None = None

    def get_frozen_credentials(self) -> StaticCredentials:
        """As botocore's ``Credentials.get_frozen_credentials``: these never change, so themselves."""
        return self

    def __repr__(self) -> str:
        return f"StaticCredentials(access_key={self.access_key!r}, token={'set' if self.token else None})"


def environment_credentials(environ: Mapping[str, str]) -> StaticCredentials | None:
    """Lambda's credentials from ``environ``; None where botocore's resolver must decide (no key, half a
    pair, or an expiry to refresh at)."""
    access_key = environ.get("AWS_ACCESS_KEY_ID", "")
    secret_key = environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not access_key or not secret_key or environ.get("AWS_CREDENTIAL_EXPIRATION"):
        return None
    token = environ.get("AWS_SESSION_TOKEN", environ.get("AWS_SECURITY_TOKEN")) or None
    return StaticCredentials(access_key, secret_key, token)


def canonical_path(path: str) -> str:
    """The URI path as SigV4 (and botocore) canonicalise it: dot segments and empty segments removed,
    then percent-encoded (``/`` and ``~`` kept)."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    joined = "/".join(segments)
    if path.startswith("/"):
        joined = "/" + joined
    if path.endswith("/") and segments:
        joined += "/"
    return quote(joined or "/", safe="/~")


def sign_post(
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: FrozenCredentials,
    service: str,
    region: str,
    now: float | None = None,
) -> dict[str, str]:
    """``headers`` (a ``Host`` among them) with ``X-Amz-Date``, the session token if any and the
    ``Authorization`` of a SigV4-signed ``POST path`` with no query string; ``now`` is epoch seconds."""
    timestamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    signed = {
        name: value
        for name, value in headers.items()
        if name.lower() not in {"authorization", "x-amz-date", "x-amz-security-token"}
    }
    signed["X-Amz-Date"] = timestamp
    if credentials.token:
        signed["X-Amz-Security-Token"] = credentials.token
    canonical: dict[str, list[str]] = {}
    for name, value in signed.items():
        if name.lower() not in UNSIGNED_HEADERS:
            canonical.setdefault(name.lower(), []).append(" ".join(value.split()))
    names = sorted(canonical)
    signed_names = ";".join(names)
    request = "\n".join(
        [
            "POST",
            canonical_path(path),
            "",
            "".join(f"{name}:{','.join(canonical[name])}\n" for name in names),
            signed_names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{timestamp[:8]}/{region}/{service}/aws4_request"
    to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"
    key = f"AWS4{credentials.secret_key}".encode()
    for part in (timestamp[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return signed
