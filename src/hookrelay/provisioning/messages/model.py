"""The message store's models: what GET answers, what replay takes and answers, a replay's work message."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hookrelay.models import AttemptAnswer, Outcome, UtcDatetime, WebhookMessage

MAX_REPLAY_RANGE = timedelta(days=7)
ReplayStatus = Literal["running", "done"]


class StoredMessage(BaseModel):
    """One kept webhook: its envelope (never a signature or a secret), when it expires, whether any
    attempt delivered it."""

    message: WebhookMessage
    expires_at: UtcDatetime
    delivered_at: UtcDatetime | None = None


class AttemptView(AttemptAnswer):
    """One attempt as GET shows it: number, time, status, duration, response excerpt, outcome."""

    outcome: Outcome
    url: str | None = None
    next_attempt_at: UtcDatetime | None = None


class WebhookView(BaseModel):
    webhook_id: str
    partner_id: str
    topic: str
    payload: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    delivered: bool
    attempts: list[AttemptView]


class Resent(BaseModel):
    partner_id: str
    webhook_id: str
    message_id: str


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: UtcDatetime = Field(description="first webhook time (ISO 8601; no zone means UTC)")
    until: UtcDatetime = Field(description="replay webhooks created before this time; at most 7 days on")
    only_failed: bool = Field(default=False, description="only webhooks no attempt delivered")

    @model_validator(mode="after")
    def _range(self) -> ReplayRequest:
        if self.until <= self.since:
            raise ValueError("until must be after since")
        if self.until - self.since > MAX_REPLAY_RANGE:
            raise ValueError("the range from since to until may be at most 7 days")
        return self


class ReplayState(BaseModel):
    """A replay and its progress (``enqueued`` of ``matched`` sent back to the partner queue)."""

    replay_id: str
    partner_id: str
    since: datetime
    until: datetime
    only_failed: bool
    matched: int
    enqueued: int = 0
    state: ReplayStatus = "running"
    started_at: datetime
    finished_at: datetime | None = None


class ReplayStarted(BaseModel):
    replay_id: str
    matched: int
    state: ReplayStatus


class Step(BaseModel):
    """A replay's work message: step ``number`` reads up to a chunk from ``cursor`` (None: the start).
    Delivered twice, a step re-sends the same webhooks (at-least-once, same ids) and counts them once."""

    model_config = ConfigDict(extra="forbid")

    partner_id: str
    replay_id: str
    number: int = Field(ge=0)
    cursor: dict[str, Any] | None = None
