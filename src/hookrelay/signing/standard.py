"""Standard Webhooks v1 signatures (https://www.standardwebhooks.com), stdlib only.

``sign`` produces the three headers hookrelay sends; ``verify`` is what a receiver calls. Both accept
several secrets, so a partner rotating its secret can be signed for (and verify) with old and new at
once. Every failure, a malformed header or secret included, raises :class:`WebhookVerificationError`.

Also the opt-in legacy header ``X-Request-Signature-SHA-256``: the hex HMAC-SHA256 of the body, keyed
with the secret string exactly as the partner holds it (Dwolla's scheme).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_MIN_BYTES = 24
SECRET_MAX_BYTES = 64
DEFAULT_TOLERANCE_SECONDS = 300

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
HEADER_LEGACY = "X-Request-Signature-SHA-256"


class WebhookVerificationError(Exception):
    """The one error this module raises: the message does not verify, or the input is malformed."""


def generate_secret(nbytes: int = 32) -> str:
    """A new secret: ``whsec_`` and the base64 of ``nbytes`` random bytes (24 to 64)."""
    if not SECRET_MIN_BYTES <= nbytes <= SECRET_MAX_BYTES:
        raise WebhookVerificationError(f"secrets are {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes long")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_...`` secret (the prefix is optional, as in the spec's libraries)."""
    if not isinstance(secret, str) or not secret:
        raise WebhookVerificationError("secret is empty")
    return _decoded_key(secret)


@lru_cache(maxsize=256)
def _decoded_key(secret: str) -> bytes:
    """Decoded once per secret (a partner's handler signs every webhook with the same one or two)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError("secret is not valid base64") from exc
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise WebhookVerificationError(
            f"secret must decode to {SECRET_MIN_BYTES}-{SECRET_MAX_BYTES} bytes, not {len(key)}"
        )
    return key


def _signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _as_list(secrets: str | Iterable[str]) -> list[str]:
    found = [secrets] if isinstance(secrets, str) else list(secrets)
    if not found:
        raise WebhookVerificationError("no secret to sign or verify with")
    return found


def sign(
    secrets: str | Iterable[str],
    webhook_id: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    legacy: bool = False,
) -> dict[str, str]:
    """The signature headers for one attempt: one ``v1,`` entry per secret, space-separated.

    With ``legacy``, also ``X-Request-Signature-SHA-256`` keyed with the first (newest) secret.
    """
    keys = _as_list(secrets)
    ts = int(time.time()) if timestamp is None else int(timestamp)
    entries = " ".join(f"v1,{_signature(secret_key(s), webhook_id, ts, body)}" for s in keys)
    headers = {HEADER_ID: webhook_id, HEADER_TIMESTAMP: str(ts), HEADER_SIGNATURE: entries}
    if legacy:
        headers[HEADER_LEGACY] = legacy_signature(keys[0], body)
    return headers


def legacy_signature(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the body keyed with the secret string as configured."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            if not isinstance(value, str) or not value.strip():
                break
            return value.strip()
    raise WebhookVerificationError(f"missing or empty header {name}")


def _parse_timestamp(raw: str) -> int:
    # isdigit alone admits non-ASCII digits ("²" passes it, then int() raises a bare ValueError).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds")
    return int(raw)


def _candidate_signatures(raw: str) -> list[bytes]:
    """The v1 signatures in a header value; other versions are ignored, malformed entries refused."""
    found: list[bytes] = []
    for entry in raw.split():
        version, sep, value = entry.partition(",")
        if not sep or not version or not value:
            raise WebhookVerificationError("malformed webhook-signature entry (want 'v1,<base64>')")
        if version != "v1":
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise WebhookVerificationError("webhook-signature entry is not valid base64") from exc
    if not found:
        raise WebhookVerificationError("no v1 signature in webhook-signature")
    return found


@dataclass(frozen=True)
class Verified:
    """What a successful verification vouches for."""

    webhook_id: str
    timestamp: int


def verify(
    secrets: str | Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Verified:
    """Check the Standard Webhooks headers of a request. Header names are case-insensitive.

    Passes when any v1 signature matches any secret, and the timestamp is within
    ``tolerance_seconds`` of ``now`` on either side. Raises :class:`WebhookVerificationError`.
    """
    keys = [secret_key(s) for s in _as_list(secrets)]
    webhook_id = _header(headers, HEADER_ID)
    timestamp = _parse_timestamp(_header(headers, HEADER_TIMESTAMP))
    candidates = _candidate_signatures(_header(headers, HEADER_SIGNATURE))
    current = time.time() if now is None else now
    if timestamp < current - tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if timestamp > current + tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too far in the future")
    for key in keys:
        expected = base64.b64decode(_signature(key, webhook_id, timestamp, body))
        # Compare against every candidate without stopping early, in constant time each.
        if any([hmac.compare_digest(expected, candidate) for candidate in candidates]):
            return Verified(webhook_id=webhook_id, timestamp=timestamp)
    raise WebhookVerificationError("no matching signature")


def verify_legacy(secrets: str | Iterable[str], headers: Mapping[str, str], body: bytes) -> None:
    """Check ``X-Request-Signature-SHA-256`` against each secret, in constant time."""
    given = _header(headers, HEADER_LEGACY).lower()
    if len(given) != 64 or any(c not in "0123456789abcdef" for c in given):
        raise WebhookVerificationError(f"{HEADER_LEGACY} is not a hex SHA-256 digest")
    matches = [hmac.compare_digest(legacy_signature(s, body), given) for s in _as_list(secrets)]
    if not any(matches):
        raise WebhookVerificationError(f"{HEADER_LEGACY} does not match")


class Verifier:
    """Verification bound to a partner's secrets, for receivers in any framework."""

    def __init__(
        self,
        secrets: str | Iterable[str],
        *,
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
        legacy: bool = False,
    ) -> None:
        self.secrets = _as_list(secrets)
        for secret in self.secrets:
            secret_key(secret)
        self.tolerance_seconds = tolerance_seconds
        self.legacy = legacy

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Verified:
        verified = verify(self.secrets, headers, body, tolerance_seconds=self.tolerance_seconds, now=now)
        if self.legacy:
            verify_legacy(self.secrets, headers, body)
        return verified
