"""The delivery decision as a table: every branch of hookrelay.delivery.decide, with exact steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hookrelay.delivery.attempt import AttemptResult, Verdict
from hookrelay.delivery.decide import (
    GONE_REASON,
    DeadLetter,
    DeferUntil,
    Delivered,
    Gone,
    LeaveOnQueue,
    RetryAt,
    admit,
    after_attempt,
    after_crash,
    before_attempt,
)
from hookrelay.models import DeliveryState, ErrorKind, LastResult, WebhookMessage
from hookrelay.retry import RetryPolicy

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FIRST = NOW - timedelta(hours=1)
POLICY = RetryPolicy(schedule_seconds=(900, 3600, 10800), jitter=0.1, max_retry_after_seconds=3600)
BODY = (
    '{"partner_id": "acme", "topic": "t", "payload": {}, "id": "msg_1", "created_at": "2026-11-23T12:00:00Z"}'
)


def result(verdict: Verdict, attempt: int, status: int | None = 500, **more: object) -> AttemptResult:
    kind = None if verdict is Verdict.SUCCESS else ErrorKind.HTTP_STATUS
    error = None if verdict is Verdict.SUCCESS else f"HTTP {status}"
    fields: dict[str, object] = {"error_kind": kind, "error": error, **more}
    return AttemptResult(
        attempt=attempt, at=NOW, verdict=verdict, duration_ms=12, status_code=status, **fields
    )


def after(attempt: int, first: datetime, r: AttemptResult, next_at: datetime | None = None) -> DeliveryState:
    last = LastResult(
        attempt=attempt, at=NOW, status_code=r.status_code, error_kind=r.error_kind, error=r.error
    )
    return DeliveryState(attempt=attempt, first_attempt_at=first, next_attempt_at=next_at, last_result=last)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("not json", DeadLetter("invalid message: body: Invalid JSON: expected ident at line 1 column 2")),
        ('{"partner_id": "acme", "payload": {}}', DeadLetter("invalid message: topic: Field required")),
        (
            '{"partner_id": "other", "topic": "t", "payload": {}}',
            DeadLetter("invalid message: partner_id 'other' on acme's queue"),
        ),
    ],
    ids=["malformed-json", "missing-field", "wrong-partner"],
)
def test_a_poison_body_is_dead_lettered_as_it_came(body: str, expected: DeadLetter) -> None:
    assert admit(body, "acme") == expected


def test_a_valid_body_of_this_partner_is_admitted() -> None:
    assert admit(BODY, "acme") == WebhookMessage.model_validate_json(BODY)


@pytest.mark.parametrize(
    ("next_at", "expected"),
    [
        (None, None),
        (NOW - timedelta(seconds=1), None),
        (NOW, None),
        (NOW + timedelta(seconds=0.5), None),
        (NOW + timedelta(seconds=0.6), DeferUntil(NOW + timedelta(seconds=0.6))),
        (NOW + timedelta(hours=2), DeferUntil(NOW + timedelta(hours=2))),
    ],
    ids=[
        "never-scheduled",
        "overdue",
        "due-now",
        "half-a-second-early",
        "more-than-half-early",
        "not-yet-due",
    ],
)
def test_before_an_attempt_only_a_message_not_yet_due_is_deferred(
    next_at: datetime | None, expected: DeferUntil | None
) -> None:
    state = DeliveryState(attempt=1, first_attempt_at=FIRST, next_attempt_at=next_at)
    assert before_attempt(state, NOW) == expected


SUCCESS = result(Verdict.SUCCESS, 1, 200)
FIRST_FAILURE = result(Verdict.RETRY, 1)
SECOND_FAILURE = result(Verdict.RETRY, 2)
LAST_FAILURE = result(Verdict.RETRY, 4)
THROTTLED = result(Verdict.RETRY, 1, 429, retry_after=timedelta(hours=5))
GONE = result(Verdict.GONE, 3, 410)
REFUSED = AttemptResult(
    attempt=1,
    at=NOW,
    verdict=Verdict.PERMANENT,
    duration_ms=0,
    error_kind=ErrorKind.UNSAFE_DESTINATION,
    error="refused: 10.0.0.1",
)


@pytest.mark.parametrize(
    ("r", "state", "draw", "expected"),
    [
        (SUCCESS, DeliveryState(), 0.5, Delivered()),
        (
            FIRST_FAILURE,
            DeliveryState(),
            0.0,
            RetryAt(NOW + timedelta(seconds=900), after(1, NOW, FIRST_FAILURE, NOW + timedelta(seconds=900))),
        ),
        (
            SECOND_FAILURE,
            DeliveryState(attempt=1, first_attempt_at=FIRST),
            0.5,
            # retry 2 is 3600 s after the first attempt, but attempt 2 was made at 3600 s (late): so the
            # 2700 s gap after it (6300 s), plus half of 10 % of that gap
            RetryAt(
                FIRST + timedelta(seconds=6435),
                after(2, FIRST, SECOND_FAILURE, FIRST + timedelta(seconds=6435)),
            ),
        ),
        (
            THROTTLED,
            DeliveryState(),
            0.0,
            # Retry-After 5 h is capped at max_retry_after_seconds (1 h), later than the schedule's 15 min
            RetryAt(NOW + timedelta(hours=1), after(1, NOW, THROTTLED, NOW + timedelta(hours=1))),
        ),
        (
            LAST_FAILURE,
            DeliveryState(attempt=3, first_attempt_at=FIRST),
            0.0,
            DeadLetter("retries exhausted after 4 attempts; last: HTTP 500", after(4, FIRST, LAST_FAILURE)),
        ),
        (
            GONE,
            DeliveryState(attempt=2, first_attempt_at=FIRST),
            0.0,
            Gone(GONE_REASON, after(3, FIRST, GONE)),
        ),
        (
            REFUSED,
            DeliveryState(),
            0.0,
            DeadLetter("refused destination: refused: 10.0.0.1", after(1, NOW, REFUSED)),
        ),
    ],
    ids=[
        "2xx",
        "first-failure",
        "second-failure-with-jitter",
        "retry-after-capped",
        "last",
        "410",
        "refused",
    ],
)
def test_after_an_attempt_exactly_one_step(
    r: AttemptResult, state: DeliveryState, draw: float, expected: object
) -> None:
    assert after_attempt(r, state, POLICY, draw) == expected


@pytest.mark.parametrize(
    ("receive_count", "max_receive_count", "expected"),
    [
        (1, None, LeaveOnQueue()),
        (2, 3, LeaveOnQueue()),
        (3, 3, DeadLetter("handling failed on all 3 receives; last: RuntimeError: boom")),
        (4, 3, DeadLetter("handling failed on all 4 receives; last: RuntimeError: boom")),
    ],
    ids=["no-redrive-known", "not-the-last-receive", "last-receive", "past-the-last-receive"],
)
def test_a_crash_dead_letters_only_on_the_last_receive(
    receive_count: int, max_receive_count: int | None, expected: object
) -> None:
    assert after_crash(RuntimeError("boom"), receive_count, max_receive_count) == expected


def test_a_crash_reason_keeps_at_most_300_characters_of_the_error() -> None:
    step = after_crash(ValueError("x" * 1000), 5, 5)
    assert step == DeadLetter("handling failed on all 5 receives; last: ValueError: " + "x" * 300)
