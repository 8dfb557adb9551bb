"""What a partner's health calls for after a results batch was counted: pause it, tell someone, or nothing.

Pure: the partner, its counters before and after the batch, the thresholds and the time in; an
:class:`Action` (or None) out. Tested as a table (tests/unit/test_health_decide.py).

- a partner that is not ``active`` (disabled, already paused, being created) calls for nothing;
- a 410 Gone pauses at once, if ``gone_pauses``;
- ``pause_after_failures`` failed attempts in a row *and* ``pause_after_hours`` since the last success
  (or, never having succeeded, since the streak began; never before the partner was last resumed) pause;
- a success after a streak that was told of is a ``recovered`` notice;
- ``failing_notice_after`` failures in a row, not yet told of, are a ``failing`` notice (rate-limited per
  partner by the store's conditional write, not here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hookrelay.health_notice import NoticeKind
from hookrelay.partners.health import BatchHealth, HealthState
from hookrelay.partners.model import Partner, PartnerStatus
from hookrelay.provisioning.settings import ProvisionerSettings

FAILING = "failing"
GONE = "gone"


@dataclass(frozen=True)
class Thresholds:
    """The thresholds that apply to one partner: its own where it set them, else the stage's."""

    pause_after_failures: int = 400
    pause_after_hours: float = 24.0
    gone_pauses: bool = True
    failing_notice_after: int = 10

    @classmethod
    def of(cls, partner: Partner, settings: ProvisionerSettings) -> Thresholds:
        failures, hours, gone = partner.pause_after_failures, partner.pause_after_hours, partner.gone_pauses
        return cls(
            pause_after_failures=settings.pause_after_failures if failures is None else failures,
            pause_after_hours=settings.pause_after_hours if hours is None else hours,
            gone_pauses=settings.gone_pauses if gone is None else gone,
            failing_notice_after=settings.failing_notice_after,
        )


@dataclass(frozen=True)
class Pause:
    reason: str  # FAILING or GONE


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind


Action = Pause | Notice


def streak_hours(partner: Partner, state: HealthState, now: datetime) -> float:
    """Hours without a success: since the last one, else since the streak began; a resumed partner's
    clock starts again when it was resumed."""
    since = state.last_success_at or state.failing_since or now
    if partner.resumed_at is not None and partner.resumed_at > since:
        since = partner.resumed_at
    return max(0.0, (now - since).total_seconds() / 3600)


def decide(
    partner: Partner,
    before: HealthState,
    after: HealthState,
    batch: BatchHealth,
    limits: Thresholds,
    now: datetime,
) -> Action | None:
    """The one thing to do about ``partner`` now (a pause outranks a notice)."""
    if partner.status is not PartnerStatus.ACTIVE:
        return None
    if batch.gone and limits.gone_pauses:
        return Pause(GONE)
    failures = after.consecutive_failures
    long_enough = streak_hours(partner, after, now) >= limits.pause_after_hours
    if failures >= limits.pause_after_failures and long_enough:
        return Pause(FAILING)
    if batch.succeeded_at is not None and before.told_at is not None and failures == 0:
        return Notice(NoticeKind.RECOVERED)
    if failures >= limits.failing_notice_after and after.told_at is None:
        return Notice(NoticeKind.FAILING)
    return None
