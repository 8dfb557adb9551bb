"""One delivery attempt: sign, POST, read a bounded excerpt, classify the answer.

2xx is success. 410 Gone stops retrying. A refused (non-public) destination is permanent. Every other
status, redirects included (they are never followed), and every timeout, DNS failure and connection
error is retried. ``Retry-After`` on 429 and 503 is passed on to the retry schedule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import ConfigDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from hookrelay import USER_AGENT
from hookrelay.errors import UnsafeDestination
from hookrelay.models import AttemptAnswer, ErrorKind, WebhookMessage
from hookrelay.retry import parse_retry_after
from hookrelay.signing.standard import sign
from hookrelay.ssrf import DnsFailure

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse

    from hookrelay.delivery.transport import PinnedTransport

TOPIC_HEADER = "X-Hookrelay-Topic"
ATTEMPT_HEADER = "X-Hookrelay-Attempt"


class Verdict(StrEnum):
    SUCCESS = "success"
    RETRY = "retry"
    GONE = "gone"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Endpoint:
    """Where and how one partner is called."""

    url: str
    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    legacy_signature: bool = False
    excerpt_bytes: int = 2048


class AttemptResult(AttemptAnswer):
    """One attempt as :func:`attempt_delivery` saw it: the shared attempt fields, the verdict, and a
    ``Retry-After`` the partner asked for (on 429 and 503)."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    duration_ms: int
    retry_after: timedelta | None = None


def classify_status(status: int) -> tuple[Verdict, ErrorKind | None]:
    if 200 <= status < 300:
        return Verdict.SUCCESS, None
    if status == 410:
        return Verdict.GONE, ErrorKind.HTTP_STATUS
    if 300 <= status < 400:
        return Verdict.RETRY, ErrorKind.REDIRECT
    return Verdict.RETRY, ErrorKind.HTTP_STATUS


def request_headers(
    message: WebhookMessage,
    secrets: list[str],
    body: bytes,
    attempt: int,
    timestamp: int,
    legacy: bool,
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TOPIC_HEADER: message.topic,
        ATTEMPT_HEADER: str(attempt),
    }
    headers.update(sign(secrets, message.id, body, timestamp=timestamp, legacy=legacy))
    return headers


def _read_excerpt(response: BaseHTTPResponse, cap: int) -> str:
    """Read at most ``cap`` bytes (one read: urllib3 returns fewer only at the body's end). A body read
    to its end leaves the connection reusable; a longer one is not read further, and its connection is
    closed (the pool opens a new one). A body whose ``Content-Length`` is within the cap is read whole
    (urllib3's plain read costs less CPU than its read of a given amount)."""
    remaining = response.length_remaining
    data = response.read() if remaining is not None and remaining <= cap else response.read(cap + 1)
    if len(data) > cap:
        response.close()
    return data[:cap].decode("utf-8", errors="replace")


def attempt_delivery(
    message: WebhookMessage,
    endpoint: Endpoint,
    secrets: list[str],
    transport: PinnedTransport,
    now: datetime,
) -> AttemptResult:
    """POST ``message`` once. Never raises for anything the partner or the network does."""
    attempt = message.delivery.attempt + 1
    body = message.http_body()
    headers = request_headers(
        message, secrets, body, attempt, int(now.timestamp()), endpoint.legacy_signature
    )
    started = time.perf_counter()

    def result(
        verdict: Verdict,
        kind: ErrorKind | None,
        error: str | None,
        status_code: int | None = None,
        excerpt: str | None = None,
        retry_after: timedelta | None = None,
    ) -> AttemptResult:
        return AttemptResult(
            attempt=attempt,
            at=now,
            verdict=verdict,
            duration_ms=int((time.perf_counter() - started) * 1000),
            status_code=status_code,
            response_excerpt=excerpt,
            error_kind=kind,
            error=error,
            retry_after=retry_after,
        )

    try:
        response = transport.post(
            endpoint.url, body, headers, (endpoint.connect_timeout, endpoint.read_timeout)
        )
    except UnsafeDestination as exc:
        return result(Verdict.PERMANENT, ErrorKind.UNSAFE_DESTINATION, exc.message)
    except DnsFailure as exc:
        return result(Verdict.RETRY, ErrorKind.DNS, str(exc))
    except HTTPError as exc:
        kind = ErrorKind.TLS if isinstance(exc, SSLError) else _NETWORK_KIND.get(_label(exc))
        return result(Verdict.RETRY, kind or ErrorKind.CONNECTION, _short(exc))
    try:
        return _answered(response, endpoint.excerpt_bytes, now, result)
    finally:
        response.release_conn()


def _answered(
    response: BaseHTTPResponse, cap: int, now: datetime, result: Callable[..., AttemptResult]
) -> AttemptResult:
    """The partner answered: classify the status, keep an excerpt and any ``Retry-After``."""
    verdict, kind = classify_status(response.status)
    try:
        excerpt = _read_excerpt(response, cap)
    except HTTPError as exc:
        # The status line arrived; a body cut short does not change the partner's answer.
        excerpt = f"(response body unreadable: {_label(exc)})"
    retry_after = None
    if response.status in (429, 503):
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
    error = None if verdict is Verdict.SUCCESS else f"HTTP {response.status}"
    return result(verdict, kind, error, response.status, excerpt, retry_after)


_NETWORK_KIND = {"ConnectTimeout": ErrorKind.TIMEOUT, "ReadTimeout": ErrorKind.TIMEOUT}


def _label(exc: HTTPError) -> str:
    """A network failure's name in the attempt record: the same words whatever the client library."""
    if isinstance(exc, SSLError):
        return "SSLError"
    if isinstance(exc, NewConnectionError):  # a subclass of ConnectTimeoutError, for old reasons
        return "ConnectionError"
    if isinstance(exc, ConnectTimeoutError):
        return "ConnectTimeout"
    if isinstance(exc, ReadTimeoutError):
        return "ReadTimeout"
    return "ConnectionError"


def _short(exc: HTTPError, limit: int = 300) -> str:
    text = f"{_label(exc)}: {exc}"
    return text if len(text) <= limit else text[: limit - 3] + "..."
