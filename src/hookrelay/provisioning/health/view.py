"""What ``GET /partners/{id}`` shows of a partner's health: its counters (from its item as ``GET`` read
it) and the thresholds that apply to it (its own, else the stage's)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hookrelay.partners.health import HealthState
from hookrelay.partners.model import Partner
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.health.decide import Thresholds


class HealthView(BaseModel):
    consecutive_failures: int = Field(description="failed attempts in a row")
    failing_since: datetime | None = Field(default=None, description="the first failure of the streak")
    last_failure_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = Field(default=None, description="the last failed attempt's error (excerpt)")
    last_status_code: int | None = None
    last_topic: str | None = Field(default=None, description="the topic of the last failed webhook")
    pause_after_failures: int = Field(description="in effect: the partner's own, else the stage's")
    pause_after_hours: float = Field(description="in effect: the partner's own, else the stage's")
    gone_pauses: bool = Field(description="in effect: the partner's own, else the stage's")


def health_view(ctx: Provisioner, partner: Partner, state: HealthState) -> HealthView:
    limits = Thresholds.of(partner, ctx.settings)
    return HealthView(
        **state.model_dump(exclude={"told_at", "notice_at"}),
        pause_after_failures=limits.pause_after_failures,
        pause_after_hours=limits.pause_after_hours,
        gone_pauses=limits.gone_pauses,
    )
