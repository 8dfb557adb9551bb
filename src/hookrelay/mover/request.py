"""What a move is asked to do (:class:`MoveRequest`) and what it did (:class:`MoveReport`).

The same models serve the ``sqs-mv`` CLI and the ``move`` Lambda, so both accept exactly the same
options, validated the same way.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hookrelay.app_settings import CommonSettings
from hookrelay.mover.messages import MessageFilter, parse_filter
from hookrelay.settings import cached_settings

SQS_BATCH = 10


class MoveRequest(BaseModel):
    """Move messages from ``source`` to ``dest`` (or each back to its origin queue)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1, description="queue name or URL")
    dest: str | None = Field(default=None, min_length=1, description="queue name or URL")
    to_origin: bool = False
    limit: int | None = Field(default=None, ge=1, description="move at most this many messages")
    filters: tuple[MessageFilter, ...] = Field(default=(), alias="filter")
    dry_run: bool = False
    reset_attempts: bool = False
    concurrency: int = Field(default=4, ge=1, le=32)
    wait_seconds: int = Field(default=5, ge=0, le=20, description="long-poll wait of each receive")
    empty_polls: int = Field(default=3, ge=1, le=100, description="consecutive empty polls = drained")
    visibility_timeout: int = Field(default=120, ge=1, le=43_200)
    send_attempts: int = Field(default=3, ge=1, le=10)

    @field_validator("filters", mode="before")
    @classmethod
    def _parse_filters(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(parse_filter(v) if isinstance(v, str) else v for v in value)
        return value

    @model_validator(mode="after")
    def _one_destination(self) -> MoveRequest:
        if (self.dest is None) == (not self.to_origin):
            raise ValueError("give exactly one of dest or to_origin")
        return self


class StopReason(StrEnum):
    DRAINED = "drained"
    LIMIT = "limit"
    INTERRUPTED = "interrupted"
    DEADLINE = "deadline"
    ERROR = "error"


class Sample(BaseModel):
    """One message as the dry run would move it (for showing, not for replaying)."""

    message_id: str
    dest: str
    body: str
    attributes: list[str]


class MoveReport(BaseModel):
    """Counts of one run. ``failed`` and ``not_deleted`` are problems; the rest is information."""

    source: str
    dest: str | None
    dry_run: bool
    moved: int = 0
    would_move: int = 0
    failed: int = 0
    not_deleted: int = 0
    skipped: int = 0
    reset: int = 0
    not_webhook: int = 0
    per_dest: dict[str, int] = Field(default_factory=dict)
    samples: list[Sample] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description="distinct failure reasons, first few")
    stop_reason: StopReason | None = None
    fatal: str | None = Field(default=None, description="error code when a queue was missing or denied")
    elapsed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.not_deleted == 0 and self.stop_reason is not StopReason.ERROR

    def note_error(self, reason: str) -> None:
        if reason not in self.errors and len(self.errors) < 10:
            self.errors.append(reason)


class MoverSettings(CommonSettings):
    """The ``move`` Lambda's settings: how close to its deadline it stops taking new batches."""

    deadline_margin_seconds: int = Field(default=30, ge=5, le=300)
    default_concurrency: int = Field(default=4, ge=1, le=32)


@cached_settings
def mover_settings() -> MoverSettings:
    return MoverSettings()
