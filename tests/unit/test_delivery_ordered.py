"""Ordered delivery's decisions, as tables: the retry clock, holds, dead-letters and blocks; Lambda's FIFO
rule as the local runtime applies it; the partner options; moto's FIFO receive, mended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from hookrelay import naming
from hookrelay.aws.sqs_event import SqsRecord
from hookrelay.delivery import ordered
from hookrelay.delivery.attempt import AttemptResult, Verdict
from hookrelay.delivery.decide import DeadLetter, Delivered, Gone
from hookrelay.delivery.ordered import Hold
from hookrelay.models import DeliveryState
from hookrelay.partners.model import PartnerCreate
from hookrelay.partners.ordering import (
    PARTNER_WIDE_GROUP,
    all_queue_names,
    dead_letter_queue_name,
    fifo_send_params,
    queue_name,
)
from hookrelay.retry import DWOLLA_SCHEDULE_SECONDS, RetryPolicy
from hookrelay_local.lambda_runtime.events import fifo_kept
from hookrelay_local.moto_fifo import in_group_order

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
DWOLLA = RetryPolicy(jitter=0)
FAST = RetryPolicy(schedule_seconds=(1, 2, 4), jitter=0)
HOLD = 11 * 3600 + 45 * 60


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("elapsed", "position", "due"),
    [
        (0, 1, True),  # the first receive: attempt 1
        (15 * 60 - 0.4, 2, True),  # within half a second of attempt 2's time (SQS's whole seconds)
        (15 * 60, 2, True),  # 15 min: attempt 2
        (3600 + 5, 3, True),  # 1 h and a bit: attempt 3
        (12 * 3600, 6, True),  # 12 h: attempt 6
        (12 * 3600 + HOLD, 6, False),  # a whole hold after attempt 6, 24 h not yet: a re-deferral
        (24 * 3600, 7, True),  # 24 h: attempt 7
        (35 * 3600, 7, True),  # 11 h late for attempt 7 (a disabled mapping, say): still attempted
        (24 * 3600 + HOLD - 0.5, 7, False),  # a hold ended half a second early: still a re-deferral
        (36 * 3600, 7, False),
        (72 * 3600, 9, True),  # the last attempt
        (100 * 3600, 9, True),  # past the last: attempted (then dead-lettered on failure)
    ],
)
def test_the_retry_clock_reads_the_attempt_due_from_the_first_receive(
    elapsed: float, position: int, due: bool
) -> None:
    assert DWOLLA.schedule_seconds == DWOLLA_SCHEDULE_SECONDS
    assert ordered.position(DWOLLA, T0, at(elapsed)) == position
    assert ordered.is_due(DWOLLA, T0, at(elapsed)) is due


def test_a_deferred_receive_waits_for_the_next_attempts_time_at_most_one_hold() -> None:
    assert timedelta(hours=11, minutes=45) == ordered.MAX_HOLD  # 12 h from the receive, less a Lambda run
    now = at(12 * 3600 + HOLD)
    assert ordered.next_due(DWOLLA, T0, now) == at(24 * 3600)
    assert ordered.hold_until(at(24 * 3600), now) == at(24 * 3600)
    assert ordered.hold_until(at(48 * 3600), at(24 * 3600)) == at(24 * 3600 + HOLD)


def test_the_clock_state_counts_the_attempts_before_the_due_one() -> None:
    assert ordered.clock_state(FAST, T0, at(0)) == DeliveryState(attempt=0)
    assert ordered.clock_state(FAST, T0, at(2.1)) == DeliveryState(attempt=2, first_attempt_at=T0)


def result(verdict: Verdict, attempt: int, seconds: float, retry_after: float | None = None) -> AttemptResult:
    return AttemptResult(
        attempt=attempt,
        at=at(seconds),
        verdict=verdict,
        status_code=500,
        error="HTTP 500",
        duration_ms=10,
        retry_after=None if retry_after is None else timedelta(seconds=retry_after),
    )


@pytest.mark.parametrize(
    ("verdict", "attempt", "seconds", "block", "retry_after", "expected"),
    [
        (Verdict.SUCCESS, 1, 0, False, None, Delivered),
        (Verdict.RETRY, 1, 0, False, None, at(1)),  # held until attempt 2's time
        (Verdict.RETRY, 2, 1.2, False, None, at(2)),
        (Verdict.RETRY, 2, 1.2, False, 30, at(31.2)),  # the partner asked for 30 s
        (Verdict.RETRY, 4, 4, False, None, DeadLetter),  # the last attempt
        (Verdict.RETRY, 4, 4, True, None, at(6)),  # blocking: again after the last gap (2 s)
        (Verdict.PERMANENT, 1, 0, False, None, DeadLetter),
        (Verdict.GONE, 1, 0, False, None, Gone),
        (Verdict.GONE, 1, 0, True, None, at(2)),  # blocking holds even a 410 (the operator decides)
    ],
)
def test_after_an_attempt(
    verdict: Verdict, attempt: int, seconds: float, block: bool, retry_after: float | None, expected: Any
) -> None:
    step = ordered.after_attempt(result(verdict, attempt, seconds, retry_after), FAST, T0, 0.0, block)
    if isinstance(expected, datetime):
        assert isinstance(step, Hold)
        assert step.until == expected
        assert step.step is not None
        assert step.step.state.attempt == attempt
    else:
        assert type(step) is expected


def test_a_hold_is_at_most_one_hold_however_far_the_next_attempt() -> None:
    step = ordered.after_attempt(result(Verdict.RETRY, 7, 24 * 3600), DWOLLA, T0, 0.0, False)
    assert isinstance(step, Hold)
    assert step.until == at(24 * 3600 + HOLD)
    assert step.step is not None
    assert step.step.at == at(48 * 3600)


def record(message_id: str, group: str | None, first_ms: int | None = None) -> SqsRecord:
    attributes: dict[str, str] = {}
    if group is not None:
        attributes["MessageGroupId"] = group
    if first_ms is not None:
        attributes["ApproximateFirstReceiveTimestamp"] = str(first_ms)
    return SqsRecord.model_validate({"messageId": message_id, "body": "{}", "attributes": attributes})


def test_a_batch_splits_into_groups_each_in_queue_order() -> None:
    records = [record("a0", "A"), record("b0", "B"), record("a1", "A"), record("c0", "C"), record("b1", "B")]
    assert [[r.message_id for r in g] for g in ordered.groups(records)] == [
        ["a0", "a1"],
        ["b0", "b1"],
        ["c0"],
    ]


def test_the_first_receive_is_read_from_the_record_or_is_now() -> None:
    ms = int(T0.timestamp() * 1000)
    assert ordered.first_receive(record("m", "A", ms), at(5)) == T0
    assert ordered.first_receive(record("m", "A"), at(5)) == at(5)
    assert ordered.first_receive(record("m", "A", ms + 60_000), at(5)) == at(5)  # never in the future


def test_lambdas_fifo_rule_keeps_every_later_record_of_a_failed_group() -> None:
    messages = [
        {"MessageId": mid, "Attributes": {"MessageGroupId": mid[0]}}
        for mid in ["a0", "b0", "a1", "b1", "a2", "c0"]
    ]
    assert fifo_kept(messages, frozenset({"a1"})) == {"a1", "a2"}
    assert fifo_kept(messages, frozenset({"b0", "c0"})) == {"b0", "b1", "c0"}
    assert fifo_kept(messages, frozenset()) == frozenset()


def test_the_ordering_options() -> None:
    # an ordered partner may block; an unordered one may not
    assert PartnerCreate(
        partner_id="acme", url="https://example.com/", ordering="fifo", block_on_failure=True
    )
    with pytest.raises(ValidationError, match="block_on_failure needs"):
        PartnerCreate(partner_id="acme", url="https://example.com/", block_on_failure=True)
    with pytest.raises(ValidationError):
        PartnerCreate(partner_id="acme", url="https://example.com/", ordering="lifo")  # type: ignore[arg-type]
    # pacing would re-send deferred records behind their group: refused for an ordered partner
    with pytest.raises(ValidationError, match="pacing"):
        PartnerCreate(
            partner_id="acme", url="https://example.com/", ordering="fifo", max_requests_per_second=5
        )
    with pytest.raises(ValidationError, match="pacing"):
        PartnerCreate(partner_id="acme", url="https://example.com/", ordering="fifo", adaptive_rate=True)


def test_fifo_names_and_send_parameters() -> None:
    assert (queue_name("dev", "acme", "fifo"), dead_letter_queue_name("dev", "acme", "fifo")) == (
        "hookrelay-dev-acme.fifo",
        "hookrelay-dev-acme-dlq.fifo",
    )
    assert queue_name("dev", "acme") == "hookrelay-dev-acme"
    # alarm-to-slack reads the partner from an alarmed queue's name, FIFO ones too
    assert naming.partner_from_name("hookrelay-dev-acme-dlq.fifo") == "acme"
    assert naming.partner_from_name("hookrelay-dev-acme.fifo") == "acme"
    assert set(all_queue_names("dev", "acme")) == {
        "hookrelay-dev-acme",
        "hookrelay-dev-acme-dlq",
        "hookrelay-dev-acme.fifo",
        "hookrelay-dev-acme-dlq.fifo",
    }
    assert fifo_send_params("none", "msg_1", "k") == {}
    assert fifo_send_params("fifo", "msg_1", "k") == {
        "MessageGroupId": "k",
        "MessageDeduplicationId": "msg_1",
    }
    assert fifo_send_params("fifo", "msg_1", None)["MessageGroupId"] == PARTNER_WIDE_GROUP


class FakeMessage:
    """The parts of a moto SQS message the mend reads and writes."""

    def __init__(self, message_id: str) -> None:
        self.id, self.group_id = message_id, message_id[0]
        self.approximate_receive_count, self.approximate_first_receive_timestamp = 1, 5
        self.visible_at = 99

    def change_visibility(self, seconds: int) -> None:
        self.visible_at = seconds


def test_moto_is_mended_never_to_hand_out_a_group_ahead_of_an_earlier_message() -> None:
    # GIVEN a FIFO queue where moto returned a1 (and b0) while a0, earlier in group A, stayed queued
    a0, a1, b0 = (FakeMessage(i) for i in ("a0", "a1", "b0"))
    queue = SimpleNamespace(_messages=[a0, a1, b0], pending_messages={a1, b0})
    # WHEN the receive is checked
    kept = in_group_order(queue, [a1, b0])
    # THEN a1 is put back (visible, its receive uncounted); b0 stands
    assert [m.id for m in kept] == ["b0"]
    assert (a1.visible_at, a1.approximate_receive_count, a1.approximate_first_receive_timestamp) == (
        0,
        0,
        None,
    )
    assert queue.pending_messages == {b0}
