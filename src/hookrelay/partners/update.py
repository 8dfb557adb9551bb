"""A partial change to a partner's options (``PATCH /partners/{id}``): omitted fields keep their values,
and null means something only where a setting can be taken away."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hookrelay.partners.model import BATCH_SIZE, MAX_CONCURRENCY, MAX_RATE, EventType, Url
from hookrelay.retry import RetryPolicy

# The health thresholds (docs/partner-health.md): read by the results recorder, not the handler; null goes
# back to the stage's setting.
HEALTH_OPTIONS = frozenset({"pause_after_failures", "pause_after_hours", "gone_pauses"})
# Fields an update may set to null: null releases the reservation (or the provisioned instances), removes
# the pacing, or returns a health threshold to the stage's.
NULLABLE = (
    frozenset({"reserved_concurrency", "provisioned_concurrency", "max_requests_per_second"}) | HEALTH_OPTIONS
)


class PartnerUpdate(BaseModel):
    """A partial change; omitted fields keep their values."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    event_types: list[EventType] | None = None
    max_concurrency: int | None = Field(default=None, ge=2, le=MAX_CONCURRENCY)
    reserved_concurrency: int | None = Field(
        default=None, ge=2, le=MAX_CONCURRENCY, description="null: release"
    )
    provisioned_concurrency: int | None = Field(
        default=None, ge=1, le=MAX_CONCURRENCY, description="null: none"
    )
    post_concurrency: int | None = Field(default=None, ge=1, le=BATCH_SIZE)
    connect_timeout: float | None = Field(default=None, gt=0, le=30)
    read_timeout: float | None = Field(default=None, gt=0, le=60)
    retry_policy: RetryPolicy | None = None
    legacy_signature: bool | None = None
    max_requests_per_second: float | None = Field(default=None, gt=0, le=MAX_RATE, description="null: none")
    adaptive_rate: bool | None = None
    pause_after_failures: int | None = Field(default=None, ge=1, le=1_000_000, description="null: stage's")
    pause_after_hours: float | None = Field(default=None, ge=0, le=24 * 365, description="null: stage's")
    gone_pauses: bool | None = Field(default=None, description="null: the stage's setting")
    ordering: Literal["none", "fifo"] | None = Field(
        default=None, description="cannot change after create: 409 (docs/ordering.md, migrating)"
    )
    block_on_failure: bool | None = None

    def changes(self) -> dict[str, object]:
        """The fields given; null counts only where it means something (releasing concurrency)."""
        given = self.model_dump(exclude_unset=True)
        return {k: v for k, v in given.items() if v is not None or k in NULLABLE}
