"""A partner's health, as the results recorder counts it: failed delivery attempts in a row, when the
streak began, the last success, the last failure (its error, status and webhook topic), and whether a
notice went out for the streak. Pure: :func:`summarise` reads a results batch, :class:`HealthState` is
what is stored (:mod:`hookrelay.partners.health_store` keeps it on the partner's item).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from hookrelay.health_notice import scrub
from hookrelay.models import AttemptRecord, ErrorKind, Outcome

NOT_THE_ENDPOINT = frozenset({ErrorKind.INVALID_MESSAGE})  # our message was bad, not the partner's answer


class HealthState(BaseModel):
    """The counters as stored (after a write: as that write left them)."""

    consecutive_failures: int = 0
    failing_since: datetime | None = None
    last_failure_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = Field(default=None, description="the last failed attempt's error (excerpt)")
    last_status_code: int | None = None
    last_topic: str | None = Field(default=None, description="the topic of the last failed webhook")
    told_at: datetime | None = Field(default=None, description="a notice went out for this failing streak")
    notice_at: datetime | None = Field(default=None, description="when the last failing notice went out")


@dataclass(frozen=True)
class Counted:
    """A batch counted: the partner's counters before and after it, and its document as stored (the same
    write returned it: no read)."""

    before: HealthState
    after: HealthState
    document: str | None


@dataclass(frozen=True)
class BatchHealth:
    """What one results batch says of one partner's endpoint, in attempt order (pure)."""

    partner_id: str
    failures: int = 0  # failed attempts after the batch's last success (all of them if none)
    succeeded_at: datetime | None = None  # the batch's last success
    first_failure_at: datetime | None = None  # the first failure after it
    last_failure: AttemptRecord | None = None
    gone: bool = False  # a 410 Gone after the last success


def is_failure(record: AttemptRecord) -> bool:
    """An attempt the endpoint failed: anything but delivered, unless the message itself was bad."""
    return record.outcome is not Outcome.DELIVERED and record.error_kind not in NOT_THE_ENDPOINT


def summarise(records: Iterable[AttemptRecord]) -> dict[str, BatchHealth]:
    """Per partner: the failures after its last success in ``records``, and that success."""
    by_partner: dict[str, list[AttemptRecord]] = {}
    for record in records:
        by_partner.setdefault(record.partner_id, []).append(record)
    summaries = {}
    for partner_id, attempts in by_partner.items():
        attempts.sort(key=lambda r: r.at)
        succeeded = [i for i, r in enumerate(attempts) if r.outcome is Outcome.DELIVERED]
        start = succeeded[-1] + 1 if succeeded else 0
        failed = [r for r in attempts[start:] if is_failure(r)]
        summaries[partner_id] = BatchHealth(
            partner_id=partner_id,
            failures=len(failed),
            succeeded_at=attempts[succeeded[-1]].at if succeeded else None,
            first_failure_at=failed[0].at if failed else None,
            last_failure=failed[-1] if failed else None,
            gone=any(r.outcome is Outcome.GONE for r in failed),
        )
    return {k: v for k, v in summaries.items() if v.failures or v.succeeded_at}


def error_excerpt(record: AttemptRecord) -> str:
    """What went wrong, short: the status and the error's kind and text (never the response's body),
    anything that looks like a credential redacted (it is kept on the partner and shown by its API)."""
    parts = [f"HTTP {record.status_code}" if record.status_code else None, record.error_kind, record.error]
    return scrub(": ".join(str(p) for p in parts if p) or str(record.outcome))  # stored, shown, and told
