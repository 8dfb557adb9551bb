"""The retry schedule: Dwolla's offsets from the first attempt, jitter, Retry-After, SQS delays."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from hookrelay.retry import (
    DWOLLA_SCHEDULE_SECONDS,
    RetryPolicy,
    next_attempt,
    parse_retry_after,
    sqs_delay_seconds,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = 3600


def test_default_schedule_is_dwollas() -> None:
    assert RetryPolicy().schedule_seconds == (
        900,
        HOUR,
        3 * HOUR,
        6 * HOUR,
        12 * HOUR,
        24 * HOUR,
        48 * HOUR,
        72 * HOUR,
    )
    assert RetryPolicy().max_attempts == 9


@pytest.mark.parametrize("attempt", range(1, 9))
def test_retry_n_is_due_at_its_offset_from_the_first_attempt_without_jitter(attempt: int) -> None:
    policy = RetryPolicy(jitter=0)
    decision = next_attempt(policy, attempt, T0, now=T0, rand=lambda: 0.5)
    assert decision.next_attempt_at == T0 + timedelta(seconds=DWOLLA_SCHEDULE_SECONDS[attempt - 1])


def test_jitter_adds_at_most_its_fraction_of_the_gap() -> None:
    policy = RetryPolicy(jitter=0.1)
    # retry 2 is at 1 h; the gap from retry 1 (15 min) is 45 min, so at most 4.5 min is added
    latest = next_attempt(policy, 2, T0, now=T0, rand=lambda: 1.0).next_attempt_at
    earliest = next_attempt(policy, 2, T0, now=T0, rand=lambda: 0.0).next_attempt_at
    assert earliest == T0 + timedelta(hours=1)
    assert latest == T0 + timedelta(hours=1, minutes=4, seconds=30)


def test_gives_up_after_the_last_attempt() -> None:
    assert next_attempt(RetryPolicy(), 9, T0, now=T0).give_up
    assert not next_attempt(RetryPolicy(), 8, T0, now=T0).give_up


def test_an_empty_schedule_means_one_attempt_only() -> None:
    assert next_attempt(RetryPolicy(schedule_seconds=()), 1, T0, now=T0).give_up


def test_a_late_attempt_is_never_scheduled_in_the_past_and_keeps_its_gap() -> None:
    # GIVEN attempt 1 made a day after the first attempt's time (its retry 1 is at 15 min)
    late = T0 + timedelta(days=1)
    # THEN retry 1 is a whole gap (15 min) after that late attempt, not at once
    assert next_attempt(RetryPolicy(jitter=0), 1, T0, now=late).next_attempt_at == late + timedelta(
        minutes=15
    )


def test_a_late_retry_pushes_the_next_one_a_whole_gap_out() -> None:
    # GIVEN retry 1 (attempt 2, due at 15 min) made at 50 min: retry 2's offset is 1 h, its gap 45 min
    decision = next_attempt(RetryPolicy(jitter=0), 2, T0, now=T0 + timedelta(minutes=50))
    # THEN retry 2 is at 1 h 35 min (45 min after the late attempt), not at 1 h (10 min after it)
    assert decision.next_attempt_at == T0 + timedelta(hours=1, minutes=35)


def test_a_short_schedule_whose_attempts_run_late_never_bunches() -> None:
    # GIVEN the schedule 1, 2, 4 s and every attempt made 0.9 s after it was due (SQS's whole seconds)
    policy = RetryPolicy(schedule_seconds=(1, 2, 4), jitter=0)
    attempts = [T0]
    for attempt in (1, 2, 3):
        due = next_attempt(policy, attempt, T0, now=attempts[-1]).next_attempt_at
        assert due is not None
        attempts.append(due + timedelta(seconds=0.9))
    # THEN consecutive attempts are at least the schedule's gaps (1, 1, 2 s) apart, never at once
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps == [1.9, 1.9, 2.9]


def test_retry_after_longer_than_the_schedule_is_honoured() -> None:
    decision = next_attempt(RetryPolicy(jitter=0), 1, T0, now=T0, retry_after=timedelta(minutes=40))
    assert decision.next_attempt_at == T0 + timedelta(minutes=40)


def test_retry_after_is_bounded() -> None:
    policy = RetryPolicy(jitter=0, max_retry_after_seconds=HOUR)
    decision = next_attempt(policy, 1, T0, now=T0, retry_after=timedelta(days=3))
    assert decision.next_attempt_at == T0 + timedelta(hours=1)


def test_retry_after_shorter_than_the_schedule_keeps_the_schedule() -> None:
    decision = next_attempt(RetryPolicy(jitter=0), 1, T0, now=T0, retry_after=timedelta(seconds=5))
    assert decision.next_attempt_at == T0 + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 7 ", timedelta(seconds=7)),
        ("Thu, 01 Jan 2026 00:10:00 GMT", timedelta(minutes=10)),
        ("Wed, 31 Dec 2025 00:00:00 GMT", timedelta(0)),
        ("soon", None),
        ("", None),
        (None, None),
        ("-3", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(header, T0) == expected


@pytest.mark.parametrize(
    ("due_in", "delay"),
    [(None, 0), (-5, 0), (0.2, 0), (0.5, 1), (1.4, 1), (1.6, 2), (30, 30), (900, 900), (7200, 900)],
)
def test_sqs_delay_is_the_nearest_whole_second_capped_at_fifteen_minutes(
    due_in: float | None, delay: int
) -> None:
    due = None if due_in is None else T0 + timedelta(seconds=due_in)
    assert sqs_delay_seconds(due, T0) == delay


@pytest.mark.parametrize(
    "schedule", [(900, 60), (-1,), (8 * 86_400,)], ids=["decreasing", "negative", "over-a-week"]
)
def test_invalid_schedules_are_refused(schedule: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="retry offset"):
        RetryPolicy(schedule_seconds=schedule)
