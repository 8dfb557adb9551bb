"""Partner health's decision, as a table: pause (both thresholds, or a 410), tell (failing, recovered), or
nothing; and the batch summary it is made from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hookrelay.health_notice import NoticeKind
from hookrelay.models import AttemptRecord, ErrorKind, Outcome
from hookrelay.partners.health import BatchHealth, HealthState, error_excerpt, summarise
from hookrelay.partners.model import Partner, PartnerStatus
from hookrelay.provisioning.health.decide import FAILING, GONE, Notice, Pause, Thresholds, decide
from hookrelay.provisioning.settings import ProvisionerSettings

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
LIMITS = Thresholds(pause_after_failures=400, pause_after_hours=24, gone_pauses=True, failing_notice_after=10)


def partner(**changes: object) -> Partner:
    return Partner.model_validate(
        {"partner_id": "acme", "url": "https://hooks.acme.example/", "status": "active", **changes}
    )


def state(failures: int, hours_since_success: float | None = None, **changes: object) -> HealthState:
    success = None if hours_since_success is None else NOW - timedelta(hours=hours_since_success)
    return HealthState(consecutive_failures=failures, last_success_at=success, **changes)


FAILED = BatchHealth("acme", failures=1, first_failure_at=NOW)
GONE_BATCH = BatchHealth("acme", failures=1, first_failure_at=NOW, gone=True)
SUCCEEDED = BatchHealth("acme", succeeded_at=NOW)
TOLD = NOW - timedelta(hours=1)


@pytest.mark.parametrize(
    ("case", "before", "after", "batch", "expected"),
    [
        # both thresholds crossed: pause
        ("400 failures, 24 h without success", state(399, 24), state(400, 24), FAILED, Pause(FAILING)),
        ("past both", state(999, 48), state(1000, 48), FAILED, Pause(FAILING)),
        # one of the two is not enough
        ("400 failures within 24 h (told already)", state(499, 23.9, told_at=TOLD),
         state(500, 23.9, told_at=TOLD), FAILED, None),
        ("24 h but only 399 failures (told already)", state(398, 30, told_at=TOLD),
         state(399, 30, told_at=TOLD), FAILED, None),
        # never succeeded: the streak's start counts
        ("never succeeded, streak of 25 h", state(399), state(400, failing_since=NOW - timedelta(hours=25)),
         FAILED, Pause(FAILING)),
        ("never succeeded, streak of 1 h", state(399, told_at=TOLD),
         state(400, failing_since=NOW - timedelta(hours=1), told_at=TOLD), FAILED, None),
        # 410 pauses at once
        ("410 Gone", state(0, 0), state(1, 0), GONE_BATCH, Pause(GONE)),
        # notices
        ("10th failure in a row: failing", state(9, 1), state(10, 1), FAILED, Notice(NoticeKind.FAILING)),
        ("9 failures: nothing yet", state(8, 1), state(9, 1), FAILED, None),
        ("already told of this streak", state(10, 1, told_at=TOLD), state(11, 1, told_at=TOLD), FAILED, None),
        ("a success after a told streak: recovered", state(50, 2, told_at=TOLD), state(0, 0), SUCCEEDED,
         Notice(NoticeKind.RECOVERED)),
        ("a success after an untold streak: nothing", state(3, 2), state(0, 0), SUCCEEDED, None),
    ],
)  # fmt: skip
def test_the_decision_table(
    case: str, before: HealthState, after: HealthState, batch: BatchHealth, expected: object
) -> None:
    # GIVEN an active partner and its counters before and after a batch, WHEN decided, THEN as the table says
    assert decide(partner(), before, after, batch, LIMITS, NOW) == expected, case


@pytest.mark.parametrize("status", [PartnerStatus.DISABLED, PartnerStatus.PAUSED, PartnerStatus.PROVISIONING])
def test_a_partner_that_is_not_active_calls_for_nothing(status: PartnerStatus) -> None:
    # GIVEN a partner an operator disabled (or already paused), WHEN thresholds and a 410 come, THEN nothing
    assert decide(partner(status=status), state(999, 99), state(1000, 99), GONE_BATCH, LIMITS, NOW) is None


def test_gone_pauses_off_makes_a_410_an_ordinary_failure() -> None:
    limits = Thresholds(gone_pauses=False)
    assert decide(partner(), state(0, 0), state(1, 0), GONE_BATCH, limits, NOW) is None


def test_a_resumed_partner_gets_its_hours_again() -> None:
    # GIVEN a partner resumed an hour ago whose last success was two days ago, 400 failures since
    resumed = partner(resumed_at=NOW - timedelta(hours=1))
    before, after = state(399, 48, told_at=TOLD), state(400, 48, told_at=TOLD)
    # THEN it is not paused again until 24 h after it was resumed
    assert decide(resumed, before, after, FAILED, LIMITS, NOW) is None
    later = NOW + timedelta(hours=23, minutes=1)
    assert decide(resumed, before, after, FAILED, LIMITS, later) == Pause(FAILING)


def test_thresholds_are_the_partners_own_else_the_stages() -> None:
    settings = ProvisionerSettings(
        stage="test", pause_after_failures=50, pause_after_hours=2, gone_pauses=False
    )
    assert Thresholds.of(partner(), settings) == Thresholds(50, 2.0, False, 10)
    own = partner(pause_after_failures=3, pause_after_hours=0, gone_pauses=True)
    assert Thresholds.of(own, settings) == Thresholds(3, 0.0, True, 10)


def record(n: int, outcome: Outcome, partner_id: str = "acme", **fields: object) -> AttemptRecord:
    return AttemptRecord(
        webhook_id=f"msg_{n}", partner_id=partner_id, attempt=1, url="https://hooks.acme.example/",
        at=NOW + timedelta(seconds=n), outcome=outcome, **fields,
    )  # fmt: skip


def test_the_batch_summary_counts_the_failures_after_the_last_success_in_attempt_order() -> None:
    # GIVEN a batch out of order: fail(1), success(2), fail(3), fail(4) for acme; one 410 for globex
    records = [
        record(4, Outcome.RETRY_SCHEDULED, status_code=500, topic="invoice.paid"),
        record(2, Outcome.DELIVERED, status_code=200),
        record(1, Outcome.RETRY_SCHEDULED, status_code=500),
        record(3, Outcome.DEAD_LETTERED, error_kind=ErrorKind.TIMEOUT),
        record(5, Outcome.GONE, "globex", status_code=410),
        record(6, Outcome.DEAD_LETTERED, "initech", error_kind=ErrorKind.INVALID_MESSAGE),
    ]
    summary = summarise(records)
    # THEN acme: two failures after the success at +2 s, the last one the +4 s attempt
    acme = summary["acme"]
    assert (acme.failures, acme.succeeded_at, acme.first_failure_at) == (
        2,
        NOW + timedelta(seconds=2),
        NOW + timedelta(seconds=3),
    )
    assert acme.last_failure is not None
    assert acme.last_failure.topic == "invoice.paid"
    # AND globex's 410 is a gone failure; initech's bad message says nothing of its endpoint
    assert (summary["globex"].failures, summary["globex"].gone) == (1, True)
    assert "initech" not in summary


def test_the_stored_error_excerpt_is_cut_and_holds_no_credential() -> None:
    # GIVEN a failed attempt whose error text echoes a bearer token and a signing secret, at length
    error = "ConnectionError: rejected Authorization: Bearer sk_live_abc123 with whsec_c2VjcmV0 " + "x" * 500
    failed = record(
        1, Outcome.RETRY_SCHEDULED, status_code=401, error_kind=ErrorKind.HTTP_STATUS, error=error
    )
    # WHEN it becomes the partner's last error
    excerpt = error_excerpt(failed)
    # THEN neither credential survives, and it is at most 300 characters
    assert "sk_live_abc123" not in excerpt
    assert "whsec_c2VjcmV0" not in excerpt
    assert excerpt.startswith("HTTP 401: http_status: ConnectionError: rejected ")
    assert len(excerpt) <= 300
