"""Pacing: when a paced partner's webhooks may be sent, and how its adaptive rate moves. Pure: no clock,
no I/O; times are epoch seconds passed in, so every decision is tested as a table.

**A rate that holds across instances.** Every instance of the partner's handler takes its send times
from one schedule kept on the partner's item (:class:`PaceState.next_free`): a batch claims a run of
consecutive slots ``1.1 / rate`` seconds apart (:func:`schedule`), starting no earlier than the last
slot anyone claimed, now, and any ``Retry-After`` (``not_before``). That is a token bucket of capacity one
(GCRA) shared by all instances: no burst at the start of a window whatever ``max_concurrency`` and
``post_concurrency`` are, and the 10 % wider spacing absorbs thread wake-up and network jitter, so no
1-second window sees more than the rate. A send that would leave later than :func:`late_tolerance` after
its slot (a slow wake-up on a busy host) gives the slot up and goes back to the queue. A slot beyond the
batch's budget (``budget`` seconds from now) is not claimed: its record goes back to the queue, delayed
until about when its turn comes.

**Adaptive (AIMD).** On a 429 or 503 the effective rate halves (:func:`after_congestion`), down to
``ceiling / 32``, unless the rate was already lowered after that request was sent (the same congestion,
seen by another instance or a later answer, halves it once); the batch that met it sends no more. A batch
without congestion raises it by ``ceiling / 20`` per run of successes as long as the rate (about a
second's worth of sending: additive per second, as TCP's is per round trip), up to the ceiling
(:func:`after_successes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SPACING_MARGIN = 1.10  # slots 10 % wider than 1/rate: jitter never packs rate + 1 into a second
DECREASE_FACTOR = 0.5
INCREASE_SHARE = 1 / 20  # of the ceiling per run of successes: as many as the rate (a second's worth) ...
INCREASE_RUN_MIN = 1  # ... and at least this many
FLOOR_SHARE = 1 / 32  # the adaptive rate never falls below ceiling / 32 (five halvings)
CONGESTION_STATUSES = frozenset({429, 503})

PACE_WAIT_SECONDS = 10  # a paced batch may wait this long for its send slots (added to its timeout)


@dataclass(frozen=True)
class PaceState:
    """What the partner's item holds for pacing (epoch seconds; None: never set)."""

    next_free: float | None = None  # the earliest time the next slot may start
    rate: float | None = None  # the adaptive rate (None: the ceiling)
    not_before: float | None = None  # no request before this (the partner's Retry-After)
    decreased_at: float | None = None  # when the adaptive rate was last halved


@dataclass(frozen=True)
class Schedule:
    """A batch's send times: ``slots`` claimed (in order), ``deferred`` for the records that did not fit
    (when each might go), and the ``next_free`` to store (None: nothing claimed, nothing to write)."""

    slots: tuple[float, ...]
    deferred: tuple[float, ...]
    next_free: float | None


def interval(rate: float) -> float:
    """Seconds between two consecutive slots at ``rate`` requests per second."""
    return SPACING_MARGIN / rate


def schedule(state: PaceState, rate: float, now: float, count: int, budget: float) -> Schedule:
    """Slots for ``count`` records at ``rate``: consecutive from the first free moment, those starting
    within ``budget`` seconds of ``now`` claimed, the rest deferred to where they would fall."""
    step = interval(rate)
    first = max(now, state.next_free or now, state.not_before or now)
    times = [first + i * step for i in range(count)]
    fit = sum(1 for t in times if t <= now + budget)
    claimed = tuple(times[:fit])
    return Schedule(claimed, tuple(times[fit:]), first + fit * step if fit else None)


def late_tolerance(rate: float) -> float:
    """How late a send may leave after its slot: the slack that ``ceil(rate)`` spacings leave over one
    second, half of it: the other half is for what delays a send after it left its slot (a busy CPU,
    a new connection) and network jitter. A send later than that would pack ``ceil(rate) + 1``
    arrivals into a second with the slots after it: it gives its slot up instead."""
    return 0.5 * (math.ceil(rate) * interval(rate) - 1.0)


def floor_rate(ceiling: float) -> float:
    return ceiling * FLOOR_SHARE


def effective_rate(state: PaceState, ceiling: float, adaptive: bool) -> float:
    """The rate the partner is paced at now: the ceiling, or (adaptive) the stored rate within bounds."""
    if not adaptive or state.rate is None:
        return ceiling
    return min(ceiling, max(floor_rate(ceiling), state.rate))


def after_congestion(state: PaceState, ceiling: float, sent_at: float) -> float | None:
    """The halved rate after a 429/503 to a request sent at ``sent_at``; None when the rate was already
    halved after that request left (one congestion event halves the rate once)."""
    if state.decreased_at is not None and state.decreased_at >= sent_at:
        return None
    current = effective_rate(state, ceiling, adaptive=True)
    lowered = max(floor_rate(ceiling), current * DECREASE_FACTOR)
    return lowered if lowered < current else None


def after_successes(state: PaceState, ceiling: float, successes: int) -> float | None:
    """The raised rate after ``successes`` answers without congestion; None when nothing changes."""
    current = effective_rate(state, ceiling, adaptive=True)
    if successes <= 0 or current >= ceiling:
        return None
    per_run = max(float(INCREASE_RUN_MIN), current)  # about a second's worth of sending
    return min(ceiling, current + ceiling * INCREASE_SHARE * successes / per_run)
