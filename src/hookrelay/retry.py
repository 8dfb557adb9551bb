"""The retry schedule: when the next attempt of a failed webhook is due, and when to give up.

By default Dwolla's: retries 1 to 8 at 15 min, 1 h, 3 h, 6 h, 12 h, 24 h, 48 h and 72 h *after the
first attempt*, each with a little jitter. A retry is also never sooner than the schedule's gap after
the attempt that failed: an attempt made late (a slow answer, a paused partner, SQS's whole-second
delays) pushes the next one out, so a late retry never fires the rest of the schedule at once.
A ``Retry-After`` from a 429 or 503 is honoured within bounds: the next attempt is never earlier than
the partner asked (up to ``max_retry_after_seconds``), nor earlier than the schedule.

SQS delays are whole seconds: :func:`sqs_delay_seconds` rounds to the nearest second, so a message can
come back up to half a second before it is due; :data:`hookrelay.models.DUE_TOLERANCE` counts it due.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hookrelay.models import UtcDatetime

DWOLLA_SCHEDULE_SECONDS: tuple[int, ...] = (
    15 * 60,
    60 * 60,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    24 * 3600,
    48 * 3600,
    72 * 3600,
)
SQS_MAX_DELAY_SECONDS = 900


class RetryPolicy(BaseModel):
    """Per-partner retry settings. ``schedule_seconds[i]`` is retry ``i+1``'s offset from attempt 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule_seconds: tuple[int, ...] = Field(default=DWOLLA_SCHEDULE_SECONDS, min_length=0, max_length=20)
    jitter: float = Field(default=0.1, ge=0.0, le=0.5, description="fraction of the gap added")
    max_retry_after_seconds: int = Field(default=3600, ge=0, le=86_400)

    @field_validator("schedule_seconds")
    @classmethod
    def _increasing(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(v < 0 or v > 7 * 86_400 for v in value):
            raise ValueError("each retry offset must be between 0 and 604800 seconds")
        if list(value) != sorted(value):
            raise ValueError("retry offsets must not decrease")
        return value

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.schedule_seconds)


class Decision(BaseModel):
    """What to do after a failed attempt number ``attempt``."""

    give_up: bool
    next_attempt_at: UtcDatetime | None = None


def next_attempt(
    policy: RetryPolicy,
    attempt: int,
    first_attempt_at: datetime,
    now: datetime,
    retry_after: timedelta | None = None,
    rand: Callable[[], float] = random.random,
) -> Decision:
    """Decide after ``attempt`` (1-based), made at ``now``, failed: give up, or retry at a time: the
    schedule's offset from ``first_attempt_at``, but at least the schedule's gap after ``now``."""
    if attempt >= policy.max_attempts:
        return Decision(give_up=True)
    offset = policy.schedule_seconds[attempt - 1]
    previous = policy.schedule_seconds[attempt - 2] if attempt >= 2 else 0
    gap = max(offset - previous, 0)
    scheduled = max(first_attempt_at + timedelta(seconds=offset), now + timedelta(seconds=gap))
    due = scheduled + timedelta(seconds=gap * policy.jitter * rand())
    if retry_after is not None:
        bounded = min(retry_after, timedelta(seconds=policy.max_retry_after_seconds))
        due = max(due, now + bounded)
    return Decision(give_up=False, next_attempt_at=max(due, now))


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A ``Retry-After`` header (seconds or HTTP date) as a non-negative delay, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=min(int(value), 10 * 86_400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))


def sqs_delay_seconds(due: datetime | None, now: datetime) -> int:
    """The SQS DelaySeconds (whole, rounded to the nearest) that brings a message back at ``due`` or, if
    later, after 15 minutes (the handler defers it again until it is due)."""
    if due is None:
        return 0
    remaining = (due - now).total_seconds()
    return int(min(max(remaining, 0), SQS_MAX_DELAY_SECONDS) + 0.5)
