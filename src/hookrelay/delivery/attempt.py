"""One delivery attempt: sign, POST, read a bounded excerpt, classify the answer.

Three pieces, so a batch can run the network part alone on its delivery threads:
:func:`prepare_request` (message -> signed request), :func:`exchange` (the POST, its timing and a
bounded excerpt; nothing else) and :func:`classify` (answer -> :class:`AttemptResult`).
:func:`attempt_delivery` is the three in a row.

2xx is success. 410 Gone stops retrying. A refused (non-public) destination is permanent. Every other
status, redirects included (they are never followed), and every timeout, DNS failure and connection
error is retried. ``Retry-After`` on 429 and 503 is passed on to the retry schedule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import ConfigDict
from urllib3.exceptions import HTTPError

from hookrelay import USER_AGENT
from hookrelay.delivery.failures import describe, failure_kind, label
from hookrelay.errors import UnsafeDestination
from hookrelay.models import AttemptAnswer, ErrorKind, WebhookMessage
from hookrelay.retry import parse_retry_after
from hookrelay.signing.standard import sign
from hookrelay.ssrf import DnsFailure

if TYPE_CHECKING:
    from hookrelay.delivery.open_connection import Answer
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


def _read_excerpt(response: Answer, cap: int) -> bytes:
    """Read at most ``cap + 1`` bytes (one read: urllib3 returns fewer only at the body's end). A body
    read to its end leaves the connection reusable; a longer one is not read further, and its connection
    is closed (the pool opens a new one). A body whose ``Content-Length`` is within the cap is read whole
    (urllib3's plain read costs less CPU than its read of a given amount). Decoding is the caller's."""
    remaining = response.length_remaining
    data = response.read() if remaining is not None and remaining <= cap else response.read(cap + 1)
    if len(data) > cap:
        response.close()
    return data


@dataclass(frozen=True)
class PreparedRequest:
    """One attempt's signed request, built before the POST (phase 1 of a batch: CPU only)."""

    attempt: int
    at: datetime
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Exchanged:
    """What one POST gave, as raw as it came (phase 2: the network only). Either ``failure`` (the
    request was refused or not answered) or the answer: ``status``, up to ``cap + 1`` bytes of the body
    (or the error that cut it short) and any ``Retry-After`` header."""

    duration_ms: int
    failure: Exception | None = None
    status: int | None = None
    body: bytes = b""
    body_error: HTTPError | None = None
    retry_after: str | None = None


def prepare_request(
    message: WebhookMessage, endpoint: Endpoint, secrets: list[str], now: datetime
) -> PreparedRequest:
    """The body and signed headers of ``message``'s next attempt."""
    attempt = message.delivery.attempt + 1
    body = message.http_body()
    headers = request_headers(
        message, secrets, body, attempt, int(now.timestamp()), endpoint.legacy_signature
    )
    return PreparedRequest(attempt, now, body, headers)


def exchange(request: PreparedRequest, endpoint: Endpoint, transport: PinnedTransport) -> Exchanged:
    """POST ``request`` once (SSRF-pinned, no redirects, no retries) and read a bounded excerpt.

    Raises nothing the partner or the network does: a refused destination, a DNS failure or urllib3's
    HTTPError comes back as ``failure``. Does no more than the exchange and its timing, so that it can
    run on a delivery thread while the rest of the batch's work stays on the invoking one.
    """
    started = time.perf_counter()
    try:
        response = transport.post(
            endpoint.url,
            request.body,
            request.headers,
            (endpoint.connect_timeout, endpoint.read_timeout),
        )
    except (UnsafeDestination, DnsFailure, HTTPError) as exc:
        return Exchanged(_elapsed_ms(started), failure=exc)
    return answered(response, started, endpoint.excerpt_bytes)


def answered(response: Answer, started: float, cap: int) -> Exchanged:
    """The answer whose status line and headers ``response`` holds: its excerpt read (up to ``cap + 1``
    bytes), its connection given back, its time since ``started`` (``time.perf_counter()``)."""
    try:
        body, body_error = _read_excerpt(response, cap), None
    except HTTPError as exc:  # the status line arrived; a body cut short does not change the answer
        body, body_error = b"", exc
    finally:
        response.release_conn()
    retry_after = response.headers.get("Retry-After") if response.status in (429, 503) else None
    return Exchanged(_elapsed_ms(started), None, response.status, body, body_error, retry_after)


def classify(request: PreparedRequest, exchanged: Exchanged, cap: int) -> AttemptResult:
    """The attempt as the partner answered it (or did not): verdict, error kind, excerpt, Retry-After."""

    def result(
        verdict: Verdict,
        kind: ErrorKind | None,
        error: str | None,
        status_code: int | None = None,
        excerpt: str | None = None,
        retry_after: timedelta | None = None,
    ) -> AttemptResult:
        return AttemptResult(
            attempt=request.attempt,
            at=request.at,
            verdict=verdict,
            duration_ms=exchanged.duration_ms,
            status_code=status_code,
            response_excerpt=excerpt,
            error_kind=kind,
            error=error,
            retry_after=retry_after,
        )

    failure = exchanged.failure
    if isinstance(failure, UnsafeDestination):
        return result(Verdict.PERMANENT, ErrorKind.UNSAFE_DESTINATION, failure.message)
    if isinstance(failure, DnsFailure):
        return result(Verdict.RETRY, ErrorKind.DNS, str(failure))
    if isinstance(failure, HTTPError):
        return result(Verdict.RETRY, failure_kind(failure), describe(failure))
    if failure is not None or exchanged.status is None:
        raise RuntimeError(f"not an exchange outcome: {failure!r}") from failure
    status = exchanged.status
    verdict, kind = classify_status(status)
    if exchanged.body_error is not None:
        excerpt = f"(response body unreadable: {label(exchanged.body_error)})"
    else:
        excerpt = exchanged.body[:cap].decode("utf-8", errors="replace")
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(exchanged.retry_after, request.at)
    error = None if verdict is Verdict.SUCCESS else f"HTTP {status}"
    return result(verdict, kind, error, status, excerpt, retry_after)


def attempt_delivery(
    message: WebhookMessage,
    endpoint: Endpoint,
    secrets: list[str],
    transport: PinnedTransport,
    now: datetime,
) -> AttemptResult:
    """POST ``message`` once: prepare, exchange, classify, on this thread. Never raises for anything
    the partner or the network does."""
    request = prepare_request(message, endpoint, secrets, now)
    return classify(request, exchange(request, endpoint, transport), endpoint.excerpt_bytes)


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
