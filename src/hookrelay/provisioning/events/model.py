"""What a producer sends to ``POST /events`` and ``/events/batch``, what each gets back, and the body of a
message on the events queue (what the router reads)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hookrelay.models import Topic, UtcDatetime, WebhookId, utcnow
from hookrelay.partners.ordering import OrderingKey

MAX_BATCH = 100


class EventRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: Topic = Field(description="the event type, e.g. 'invoice.paid'")
    payload: dict[str, Any] = Field(description="the event data (the webhook's 'data')")
    id: WebhookId | None = Field(
        default=None, description="idempotency key and every partner's webhook-id; generated when omitted"
    )
    ordering_key: OrderingKey | None = Field(
        default=None,
        description="ordered partners: the message group on their FIFO queues (docs/ordering.md)",
    )


class Event(BaseModel):
    """The body of a message on the events queue (version 1)."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    id: WebhookId
    topic: Topic
    payload: dict[str, Any]
    created_at: UtcDatetime = Field(default_factory=utcnow)
    ordering_key: OrderingKey | None = None  # ordered partners' group (absent from the body when None)


class EventAccepted(BaseModel):
    event_id: str
    topic: str
    duplicate: bool = Field(default=False, description="true: this id was published already (200)")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Any] = Field(min_length=1, max_length=MAX_BATCH, description="up to 100 events")


class BatchItem(BaseModel):
    index: int
    status: int = Field(description="202 accepted, 200 duplicate, else this event's error status")
    event_id: str | None = None
    topic: str | None = None
    duplicate: bool = False
    error: str | None = None
    message: str | None = None


class BatchAnswer(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[BatchItem]
