"""Pacing decisions (hookrelay.partners.pacing), pure: the shared slot schedule and AIMD, as tables."""

from __future__ import annotations

import math

import pytest

from hookrelay.partners.model import DeliveryOptions, function_timeout, pace_ceiling
from hookrelay.partners.pacing import (
    PACE_WAIT_SECONDS,
    PaceState,
    Schedule,
    after_congestion,
    after_successes,
    effective_rate,
    late_tolerance,
    schedule,
)

NOW = 1_000.0
URL = "https://example.com/hooks"


def _times(*offsets: float) -> tuple[float, ...]:
    return tuple(NOW + o for o in offsets)


@pytest.mark.parametrize(
    ("state", "rate", "count", "budget", "expected"),
    [
        # idle partner: the first slot is now, then every 1.1 / rate seconds; no burst at the start
        (PaceState(), 5.0, 3, 10.0, Schedule(_times(0, 0.22, 0.44), (), NOW + 0.66)),
        # a slot another instance claimed up to NOW + 1: this batch queues behind it
        (PaceState(next_free=NOW + 1), 5.0, 2, 10.0, Schedule(_times(1, 1.22), (), NOW + 1.44)),
        # a stale next_free (in the past) does not allow a catch-up burst
        (PaceState(next_free=NOW - 30), 5.0, 2, 10.0, Schedule(_times(0, 0.22), (), NOW + 0.44)),
        # Retry-After: nothing before not_before
        (PaceState(not_before=NOW + 4), 5.0, 1, 10.0, Schedule(_times(4), (), NOW + 4.22)),
        # slots beyond the budget are not claimed; those records are deferred to where they fall
        (PaceState(), 1.1, 4, 2.0, Schedule(_times(0, 1, 2), _times(3), NOW + 3)),
        # everything beyond the budget: nothing claimed, nothing to write
        (PaceState(next_free=NOW + 20), 1.1, 2, 10.0, Schedule((), _times(20, 21), None)),
    ],
)
def test_a_batch_gets_consecutive_slots_from_the_shared_schedule(
    state: PaceState, rate: float, count: int, budget: float, expected: Schedule
) -> None:
    # WHEN a batch of ``count`` records asks for slots at ``rate``
    got = schedule(state, rate, NOW, count, budget)
    # THEN it gets exactly these slots, deferrals and next free time
    assert got.slots == pytest.approx(expected.slots)
    assert got.deferred == pytest.approx(expected.deferred)
    assert got.next_free == pytest.approx(expected.next_free)


def test_no_one_second_window_of_a_long_schedule_holds_more_than_the_rate() -> None:
    # GIVEN 100 batches of 10 claimed back to back at 5/s, as any number of instances would
    state, slots = PaceState(), []
    for _ in range(100):
        plan = schedule(state, 5.0, NOW, 10, 1e9)
        slots += plan.slots
        state = PaceState(next_free=plan.next_free)
    # THEN every window [t, t + 1) holds at most 5 slots
    assert max(sum(1 for s in slots if t <= s < t + 1) for t in slots) == 5


@pytest.mark.parametrize(
    ("state", "adaptive", "expected"),
    [
        (PaceState(rate=3.0), False, 20.0),  # not adaptive: always the ceiling
        (PaceState(), True, 20.0),  # adaptive, never moved: the ceiling
        (PaceState(rate=3.0), True, 3.0),
        (PaceState(rate=50.0), True, 20.0),  # a ceiling lowered since: the new ceiling
        (PaceState(rate=0.01), True, 20 / 32),  # never below ceiling / 32
    ],
)
def test_the_effective_rate(state: PaceState, adaptive: bool, expected: float) -> None:
    assert effective_rate(state, 20.0, adaptive) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("state", "sent_at", "expected"),
    [
        (PaceState(), NOW, 10.0),  # first congestion: halved from the ceiling
        (PaceState(rate=8.0, decreased_at=NOW - 5), NOW, 4.0),  # a request sent after the last halving
        (PaceState(rate=8.0, decreased_at=NOW), NOW - 0.5, None),  # sent before it: the same event
        (PaceState(rate=8.0, decreased_at=NOW), NOW, None),
        (PaceState(rate=1.0), NOW, 20 / 32),  # floored
        (PaceState(rate=20 / 32), NOW, None),  # at the floor already: nothing to write
    ],
)
def test_congestion_halves_the_rate_once_per_event(
    state: PaceState, sent_at: float, expected: float | None
) -> None:
    assert after_congestion(state, 20.0, sent_at) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("state", "successes", "expected"),
    [
        (PaceState(rate=4.0), 4, 5.0),  # + ceiling / 20 per run of successes as long as the rate
        (PaceState(rate=4.0), 2, 4.5),
        (PaceState(rate=10.0), 10, 11.0),
        (PaceState(rate=0.625), 1, 1.625),  # below one a second: + ceiling / 20 per success
        (PaceState(rate=19.5), 10, 20.0),  # capped at the ceiling
        (PaceState(), 10, None),  # at the ceiling: nothing to write
        (PaceState(rate=4.0), 0, None),
    ],
)
def test_successes_raise_the_rate_additively(
    state: PaceState, successes: int, expected: float | None
) -> None:
    assert after_successes(state, 20.0, successes) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("options", "ceiling"),
    [
        ({}, None),
        ({"max_requests_per_second": 5}, 5.0),
        ({"max_requests_per_second": 5, "adaptive_rate": True}, 5.0),
        # adaptive without a rate: ten a second per POST the concurrency allows (5 x 2 x 10)
        ({"adaptive_rate": True}, 100.0),
        ({"adaptive_rate": True, "post_concurrency": 2, "max_concurrency": 4}, 80.0),
    ],
)
def test_the_pace_ceiling_and_the_timeout_of_a_paced_partner(
    options: dict[str, object], ceiling: float | None
) -> None:
    paced = DeliveryOptions.model_validate({"url": URL, **options})
    unpaced = paced.model_copy(update={"max_requests_per_second": None, "adaptive_rate": False})
    assert pace_ceiling(paced) == ceiling
    # a paced batch may wait for its slots: its function timeout allows for it
    extra = 0 if ceiling is None else PACE_WAIT_SECONDS
    assert function_timeout(paced) == function_timeout(unpaced) + extra


@pytest.mark.parametrize("rate", [0, -1, 10_001])
def test_a_rate_out_of_range_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="max_requests_per_second"):
        DeliveryOptions.model_validate({"url": URL, "max_requests_per_second": rate})


@pytest.mark.parametrize(
    ("rate", "tolerance"),
    [
        (5.0, 0.05),  # 5 spacings of 0.22 s leave 100 ms over a second; half of it may be lateness
        (100.0, 0.05),
        (5.5, 0.5 * (6 * 1.1 / 5.5 - 1)),
        (0.5, 0.5 * 1.2),  # one request per 2.2 s: more than a second of slack
    ],
)
def test_how_late_a_send_may_leave_after_its_slot(rate: float, tolerance: float) -> None:
    assert late_tolerance(rate) == pytest.approx(tolerance)
    # and however late within it, the slots after it keep every second at the rate or under
    late_first = [late_tolerance(rate)] + [i * 1.1 / rate for i in range(1, 200)]
    assert max(sum(1 for u in late_first if t <= u < t + 1) for t in late_first) <= max(1, math.ceil(rate))
