"""What ``GET /partners/{id}`` shows of a paced partner's pacing: its ceiling and the rate it is paced at
now (adaptive: as the handlers last moved it), from the partner's item as ``GET`` read it."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from hookrelay.partners.model import Partner, pace_ceiling
from hookrelay.partners.pacing import PaceState, effective_rate


class PacingView(BaseModel):
    ceiling: float = Field(description="requests per second never exceeded")
    adaptive: bool
    effective_rate: float = Field(description="requests per second the handlers pace at now")
    not_before: datetime | None = Field(default=None, description="the partner's last Retry-After")
    decreased_at: datetime | None = Field(default=None, description="when the rate was last halved")


def _at(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def pacing_view(partner: Partner, state: PaceState) -> PacingView | None:
    """The partner's pacing now; None for a partner without a rate."""
    ceiling = pace_ceiling(partner)
    if ceiling is None:
        return None
    return PacingView(
        ceiling=ceiling,
        adaptive=partner.adaptive_rate,
        effective_rate=effective_rate(state, ceiling, partner.adaptive_rate),
        not_before=_at(state.not_before),
        decreased_at=_at(state.decreased_at),
    )
