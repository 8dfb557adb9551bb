"""The recorder's core for attempt lines (hookrelay.attempts.log.record_log_attempts, moto): a CloudWatch
Logs subscription event of a partner's log group -> its marked lines' records -> the deliveries table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookrelay import naming
from hookrelay.attempts import lines
from hookrelay.attempts.log import AttemptLog, AttemptsNotRecorded, list_deliveries, record_log_attempts
from hookrelay.models import ATTEMPT_LINE_MARK, AttemptRecord, Outcome
from hookrelay.provisioning.context import Provisioner

from .conftest import STAGE, URL, Failing, aws

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def attempt(n: int, partner_id: str = "acme", outcome: Outcome = Outcome.DELIVERED) -> AttemptRecord:
    return AttemptRecord(
        webhook_id=f"msg_{n}", partner_id=partner_id, attempt=1, url=URL, at=T0 + timedelta(minutes=n),
        outcome=outcome, status_code=200, response_excerpt=f"ok {n}",
    )  # fmt: skip


def line(record: AttemptRecord) -> str:
    """The handler's marked log line of ``record`` (its fields at the top level, beside the log's own)."""
    fields = {"level": "INFO", "message": "delivery attempt", "service": "handler"}
    marked = dict([ATTEMPT_LINE_MARK])
    return json.dumps(fields | record.model_dump(mode="json", exclude_none=True) | marked)


def event(*messages: str, partner_id: str = "acme") -> dict[str, Any]:
    """What CloudWatch Logs invokes the recorder with, for lines of ``partner_id``'s handler log group."""
    batch = lines.LogsBatch.model_validate(
        {
            "messageType": lines.DATA_MESSAGE,
            "owner": "123456789012",
            "logGroup": naming.partner_log_group(STAGE, partner_id),
            "logStream": "2026/12/01/[$LATEST]0123456789abcdef",
            "subscriptionFilters": [lines.FILTER_NAME],
            "logEvents": [{"id": str(i), "timestamp": 1, "message": m} for i, m in enumerate(messages)],
        }
    )
    return lines.encode(batch)


class Observed:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, records: list[AttemptRecord]) -> None:
        self.calls.append([r.webhook_id for r in records])


def recorded(ctx: Provisioner, partner_id: str = "acme") -> list[AttemptRecord]:
    return list_deliveries(AttemptLog(STAGE, clients=ctx.clients), partner_id).items


def test_the_marked_lines_records_are_written_and_observed_once(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner, and a subscription event of its log group: two attempt lines among other lines
    make_partner("acme")
    observed = Observed()
    other = json.dumps({"level": "INFO", "message": "batch done", "service": "handler"})
    subscription = event(line(attempt(1)), other, "START RequestId: 1 Version: $LATEST", line(attempt(2)))
    # WHEN the recorder handles it
    written = record_log_attempts(subscription, AttemptLog(STAGE, clients=ctx.clients), observed)
    # THEN both attempts are in the deliveries table, whole (the response excerpt too), newest first
    assert written == 2
    assert recorded(ctx) == [attempt(2), attempt(1)]
    # AND partner health was given them once, together
    assert observed.calls == [["msg_1", "msg_2"]]


def test_an_event_delivered_again_is_not_counted_twice(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a subscription event already recorded
    make_partner("acme")
    observed = Observed()
    subscription = event(line(attempt(1)), line(attempt(2)))
    log = AttemptLog(STAGE, clients=ctx.clients)
    record_log_attempts(subscription, log, observed)
    # WHEN the same event comes again (Lambda retries an async invocation)
    written = record_log_attempts(subscription, log, observed)
    # THEN nothing new is written or observed: the attempts are there once
    assert written == 0
    assert observed.calls == [["msg_1", "msg_2"]]
    assert [r.webhook_id for r in recorded(ctx)] == ["msg_2", "msg_1"]


def test_a_failed_write_raises_after_the_others_are_written(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN an event of three attempts, and a table whose first write fails
    make_partner("acme")
    ctx.clients.overrides["dynamodb"] = Failing(aws("dynamodb"), "put_item")
    observed = Observed()
    subscription = event(*(line(attempt(n)) for n in (1, 2, 3)))
    log = AttemptLog(STAGE, clients=ctx.clients)
    # WHEN the recorder handles it
    with pytest.raises(AttemptsNotRecorded, match="1 attempt records of /aws/lambda/hookrelay-test-acme"):
        record_log_attempts(subscription, log, observed)
    # THEN it raised (Lambda retries the event), but only after the other two were written and observed
    assert [r.webhook_id for r in recorded(ctx)] == ["msg_3", "msg_2"]
    assert observed.calls == [["msg_2", "msg_3"]]
    # AND Lambda's retry writes the missing one, and observes only that one
    assert record_log_attempts(subscription, log, observed) == 1
    assert [r.webhook_id for r in recorded(ctx)] == ["msg_3", "msg_2", "msg_1"]
    assert observed.calls == [["msg_2", "msg_3"], ["msg_1"]]


def test_a_line_naming_another_partner_is_not_written(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN two partners, and acme's log group holding a line that claims an attempt of globex's
    make_partner("acme")
    make_partner("globex")
    observed = Observed()
    subscription = event(line(attempt(1, partner_id="globex")), line(attempt(2)), partner_id="acme")
    # WHEN the recorder handles it
    written = record_log_attempts(subscription, AttemptLog(STAGE, clients=ctx.clients), observed)
    # THEN acme's own attempt is written; the forged one is not, for globex or anyone
    assert written == 1
    assert [r.webhook_id for r in recorded(ctx, "acme")] == ["msg_2"]
    assert recorded(ctx, "globex") == []
    assert observed.calls == [["msg_2"]]


@pytest.mark.parametrize(
    "malformed",
    [{}, {"awslogs": {"data": "not base64!"}}, {"Records": [{"body": "an SQS event"}]}],
    ids=["empty", "not-base64", "sqs-event"],
)
def test_a_malformed_event_is_logged_and_dropped(
    ctx: Provisioner, malformed: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an event that is no CloudWatch Logs subscription event
    observed = Observed()
    # WHEN the recorder gets it
    written = record_log_attempts(malformed, AttemptLog(STAGE, clients=ctx.clients), observed)
    # THEN it returns (a retry could not mend it), having written nothing, and says why
    assert (written, observed.calls) == (0, [])
    assert "not a CloudWatch Logs subscription event" in caplog.text


def test_a_control_message_writes_nothing(ctx: Provisioner) -> None:
    # GIVEN the CONTROL_MESSAGE CloudWatch Logs sends when the subscription filter is made
    control = lines.LogsBatch.model_validate(
        {"messageType": "CONTROL_MESSAGE", "logGroup": "", "logEvents": [{"id": "1", "timestamp": 1,
         "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda function."}]}
    )  # fmt: skip
    # WHEN the recorder gets it, THEN nothing is written and nothing raised
    assert record_log_attempts(lines.encode(control), AttemptLog(STAGE, clients=ctx.clients)) == 0
