"""The message contract: what sits on a partner queue, and what each delivery attempt reports.

A partner queue holds :class:`WebhookMessage` JSON bodies. The delivery state travels *in the body*
(``delivery``), so whatever moves a message (a re-send with a delay, a DLQ redrive with ``sqs-mv``)
keeps its attempt count and schedule. The ``id`` is the idempotency key end to end: the same on every
attempt, sent as the ``webhook-id`` header.
"""

from __future__ import annotations

import secrets as _secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

PARTNER_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"
WEBHOOK_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
TOPIC_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
# A message is due this long before its time: SQS delays are whole seconds, rounded to the nearest.
DUE_TOLERANCE = timedelta(seconds=0.5)

PartnerId = Annotated[str, StringConstraints(pattern=PARTNER_ID_PATTERN)]
WebhookId = Annotated[str, StringConstraints(pattern=WEBHOOK_ID_PATTERN)]
Topic = Annotated[str, StringConstraints(pattern=TOPIC_PATTERN)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; everything is stored in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_aware)]


def new_webhook_id() -> str:
    """A fresh webhook id: ``msg_`` and 128 random bits, URL-safe."""
    return "msg_" + _secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")


class Outcome(StrEnum):
    """What became of one delivery attempt."""

    DELIVERED = "delivered"
    RETRY_SCHEDULED = "retry_scheduled"
    DEAD_LETTERED = "dead_lettered"
    GONE = "gone"


class ErrorKind(StrEnum):
    """Why an attempt failed, in words an operator can filter on."""

    HTTP_STATUS = "http_status"
    REDIRECT = "redirect"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    DNS = "dns"
    TLS = "tls"
    UNSAFE_DESTINATION = "unsafe_destination"
    INVALID_MESSAGE = "invalid_message"
    RETRIES_EXHAUSTED = "retries_exhausted"


class LastResult(BaseModel):
    """The short record of the latest attempt, kept in the message's delivery state.

    The base of every attempt model: :class:`AttemptAnswer` adds what the endpoint took and said,
    ``delivery.attempt.AttemptResult`` the verdict, :class:`AttemptRecord` whose attempt it was and its
    outcome. Each is made from another with :meth:`last_result` / :meth:`AttemptAnswer.answer_fields`,
    never by copying fields one by one.
    """

    model_config = ConfigDict(extra="ignore")

    attempt: int
    at: UtcDatetime
    status_code: int | None = None
    error_kind: ErrorKind | None = None
    error: str | None = None

    def last_result(self) -> LastResult:
        """Just this attempt's summary (a subclass's own fields dropped), as the message carries it."""
        return LastResult.model_construct(**{name: getattr(self, name) for name in LastResult.model_fields})


class DeliveryState(BaseModel):
    """Where a message stands in its retry schedule."""

    model_config = ConfigDict(extra="ignore")

    attempt: int = Field(default=0, ge=0, description="attempts made so far")
    first_attempt_at: UtcDatetime | None = None
    next_attempt_at: UtcDatetime | None = Field(
        default=None, description="not to be attempted before this time"
    )
    last_result: LastResult | None = None

    def is_due(self, now: datetime) -> bool:
        """Due from :data:`DUE_TOLERANCE` before ``next_attempt_at`` (SQS delays are whole seconds)."""
        return self.next_attempt_at is None or self.next_attempt_at <= now + DUE_TOLERANCE


class WebhookMessage(BaseModel):
    """The body of every message on a partner queue (version 1)."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    id: WebhookId = Field(default_factory=new_webhook_id)
    partner_id: PartnerId
    topic: Topic
    payload: dict[str, Any]
    created_at: UtcDatetime = Field(default_factory=utcnow)
    delivery: DeliveryState = Field(default_factory=DeliveryState)
    ordering_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="ordered partners: the message group it was published with (kept for resend/replay)",
    )

    def to_sqs_body(self) -> str:
        return self.model_dump_json(exclude_none=True)

    def http_body(self) -> bytes:
        """What is POSTed: the Standard Webhooks envelope. Identical on every attempt."""
        envelope = _Envelope(type=self.topic, timestamp=self.created_at, data=self.payload)
        return envelope.model_dump_json().encode()

    def with_delivery(self, delivery: DeliveryState) -> WebhookMessage:
        return self.model_copy(update={"delivery": delivery})


class _Envelope(BaseModel):
    type: str
    timestamp: datetime
    data: dict[str, Any]


class AttemptAnswer(LastResult):
    """An attempt and what came back: its summary, how long it took and the start of the response."""

    duration_ms: int | None = None
    response_excerpt: str | None = None

    def answer_fields(self) -> dict[str, Any]:
        """The fields every attempt model shares, as keyword arguments for another of them."""
        return {name: getattr(self, name) for name in AttemptAnswer.model_fields}


# The handler's log line of an attempt carries its whole record at the top level and this mark, so a
# CloudWatch Logs subscription filter (hookrelay.attempts.lines.FILTER_PATTERN) picks it out.
ATTEMPT_LINE_MARK = ("record", "attempt")


class AttemptRecord(AttemptAnswer):
    """One delivery attempt: written by the handler as one marked log line (:data:`ATTEMPT_LINE_MARK`),
    taken to the recorder by a CloudWatch Logs subscription. Never holds a secret."""

    webhook_id: str
    partner_id: str
    topic: str | None = None
    url: str
    outcome: Outcome
    next_attempt_at: UtcDatetime | None = None
