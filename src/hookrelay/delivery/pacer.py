"""The pacer: a paced partner's handler takes its send slots from the partner's shared schedule, once per
batch, and (adaptive) moves the shared rate once the batch is done. Decisions are
:mod:`hookrelay.partners.pacing`'s (pure); the state is :class:`~hookrelay.partners.pace_store.PaceStore`'s.

Per batch: one read and one conditional write to claim slots (re-read and retried when another instance
claimed meanwhile), and for an adaptive partner below its ceiling or answered 429/503, one more
conditional write. A partner without a rate has no pacer: zero calls, nothing added to its path.

A record whose slot would start beyond the batch's budget, that missed its slot, or (adaptive) that comes
after a 429/503 in its batch is not sent and not counted as an attempt: it
goes back to the queue, delayed until about its turn (:class:`~hookrelay.delivery.decide.DeferUntil`).
When the state cannot be read or claimed (DynamoDB failing, or contended past every retry) the whole
batch is deferred the same way: the partner is never sent more than its rate, and nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hookrelay.delivery.attempt import AttemptResult
from hookrelay.delivery.decide import DeferUntil
from hookrelay.errors import HookrelayError
from hookrelay.partners import pacing
from hookrelay.partners.pace_store import PaceStore
from hookrelay.partners.pacing import PaceState

logger = logging.getLogger(__name__)

UNAVAILABLE_DEFER_SECONDS = 5.0  # a batch whose slots could not be claimed comes back this much later
LATE_DEFER_SECONDS = 1.0  # a record that missed its slot comes back this much later


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class Answer:
    """What one paced POST met: when it left, the status (None: no answer) and any Retry-After."""

    sent_at: float
    status: int | None
    retry_after_seconds: float | None


@dataclass
class BatchPace:
    """One batch's send slots by record (a time, or a deferral) and the answers its POSTs met."""

    state: PaceState
    slots: dict[str, float | DeferUntil]
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    tolerance: float = 0.0  # how late after its slot a record may still be sent
    stop_on_congestion: bool = False  # adaptive: after a 429/503 the batch sends no more
    congested: bool = False
    answers: list[Answer] = field(default_factory=list)
    _sent: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def gate(self, message_id: str) -> DeferUntil | None:
        """Wait for the record's slot (None: send it now), or the deferral it got instead (also when the
        wait overshot the slot by more than the tolerance: sent now, it could crowd the next ones)."""
        slot = self.slots.get(message_id)
        if isinstance(slot, DeferUntil):
            return slot
        if slot is not None:
            wait = slot - self.clock()
            if wait > 0:
                self.sleep(wait)
        now = self.clock()
        if self.congested:
            return DeferUntil(_at(now + LATE_DEFER_SECONDS))
        if slot is not None and now - slot > self.tolerance:
            logger.info("pacing slot missed; the record goes back", extra={"late_s": now - slot})
            return DeferUntil(_at(now + LATE_DEFER_SECONDS))
        self._sent[message_id] = self.clock()
        return None

    def observe(self, message_id: str, result: AttemptResult) -> None:
        retry_after = None if result.retry_after is None else result.retry_after.total_seconds()
        answer = Answer(self._sent.get(message_id, self.clock()), result.status_code, retry_after)
        with self._lock:
            self.answers.append(answer)
            if self.stop_on_congestion and result.status_code in pacing.CONGESTION_STATUSES:
                self.congested = True


@dataclass
class Pacer:
    """One partner's pacing, shared by every instance of its handler through ``store``."""

    store: PaceStore
    ceiling: float
    adaptive: bool = False
    budget: float = pacing.PACE_WAIT_SECONDS
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    attempts: int = 5

    def begin(self, message_ids: list[str]) -> BatchPace:
        """Claim send slots for a batch's records, in order; the ones that do not fit are deferred."""
        try:
            claimed = self._claim(len(message_ids))
        except HookrelayError:
            logger.exception("pacing state unavailable; the batch is deferred", extra=self._ids())
            claimed = None
        if claimed is None:
            until = DeferUntil(_at(self.clock() + UNAVAILABLE_DEFER_SECONDS))
            return BatchPace(PaceState(), dict.fromkeys(message_ids, until), self.clock, self.sleep)
        state, plan = claimed
        times: list[float | DeferUntil] = [*plan.slots, *(DeferUntil(_at(t)) for t in plan.deferred)]
        slots = dict(zip(message_ids, times, strict=True))
        tolerance = pacing.late_tolerance(pacing.effective_rate(state, self.ceiling, self.adaptive))
        return BatchPace(state, slots, self.clock, self.sleep, tolerance, self.adaptive)

    def _claim(self, count: int) -> tuple[PaceState, pacing.Schedule] | None:
        for _ in range(self.attempts):
            state = self.store.read()
            rate = pacing.effective_rate(state, self.ceiling, self.adaptive)
            plan = pacing.schedule(state, rate, self.clock(), count, self.budget)
            if plan.next_free is None or self.store.claim(state, plan.next_free):
                return state, plan
        logger.warning("pacing slots contended past every retry; the batch is deferred", extra=self._ids())
        return None

    def end(self, pace: BatchPace) -> None:
        """After the batch: keep any Retry-After; (adaptive) halve on congestion, else climb back."""
        congested = [a for a in pace.answers if a.status in pacing.CONGESTION_STATUSES]
        waits = [a.retry_after_seconds for a in congested if a.retry_after_seconds]
        now = self.clock()
        if waits:
            self.store.push_not_before(now + max(waits))
        if not self.adaptive or not pace.answers:
            return
        if congested:
            self._decrease(pace.state, min(a.sent_at for a in congested), now)
            return
        successes = sum(1 for a in pace.answers if a.status is not None and 200 <= a.status < 300)
        raised = pacing.after_successes(pace.state, self.ceiling, successes)
        if raised is not None:
            self.store.set_rate(pace.state, raised)

    def _decrease(self, state: PaceState, sent_at: float, now: float) -> None:
        """Halve once per congestion event: a conflicting write is re-read and decided again, once."""
        for fresh in (False, True):
            if fresh:
                state = self.store.read()
            lowered = pacing.after_congestion(state, self.ceiling, sent_at)
            if lowered is None or self.store.set_rate(state, lowered, decreased_at=now):
                if lowered is not None:
                    logger.info("partner rate halved", extra={**self._ids(), "rate": lowered})
                return

    def _ids(self) -> dict[str, str]:
        return {"partner_id": self.store.partner_id}
