"""Attempt records as log lines: the subscription event decoded, and a line believed only for its own
partner (hookrelay.attempts.lines)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hookrelay.attempts import lines
from hookrelay.errors import InvalidInput
from hookrelay.models import AttemptRecord, Outcome

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def attempt_line(partner_id: str = "acme", **extra: object) -> str:
    record = AttemptRecord(
        webhook_id="msg_1",
        partner_id=partner_id,
        url="https://acme.example/hook",
        outcome=Outcome.DELIVERED,
        attempt=1,
        at=AT,
        status_code=200,
    )
    fields = {"level": "INFO", "message": "delivery attempt", "record": "attempt"}
    return json.dumps(fields | record.model_dump(mode="json", exclude_none=True) | extra)


def batch(
    *messages: str, log_group: str = "/aws/lambda/hookrelay-dev-acme", kind: str = "DATA_MESSAGE"
) -> lines.LogsBatch:
    return lines.LogsBatch.model_validate(
        {
            "messageType": kind,
            "owner": "123456789012",
            "logGroup": log_group,
            "logStream": "2026/12/01/[$LATEST]abc",
            "subscriptionFilters": [lines.FILTER_NAME],
            "logEvents": [{"id": str(i), "timestamp": 1, "message": m} for i, m in enumerate(messages)],
        }
    )


def test_a_subscription_event_decodes_to_the_batch_it_was_encoded_from() -> None:
    # GIVEN a batch of two lines, encoded as CloudWatch Logs invokes a subscribed function
    original = batch(attempt_line(), '{"level":"INFO","message":"other"}')
    # WHEN it is decoded
    decoded = lines.decode(lines.encode(original))
    # THEN it is the same batch
    assert decoded == original


@pytest.mark.parametrize(
    "event", [{}, {"awslogs": {}}, {"awslogs": {"data": "not base64!"}}, {"awslogs": {"data": "aGVsbG8="}}]
)
def test_an_event_that_is_no_subscription_event_is_invalid_input(event: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match="not a CloudWatch Logs subscription event"):
        lines.decode(event)


def test_only_marked_lines_of_the_log_groups_own_partner_are_records() -> None:
    # GIVEN acme's log group with its own attempt line, an unmarked line, a line naming globex and junk
    got = lines.records_of(
        batch(
            attempt_line(),
            '{"message":"poll"}',
            attempt_line("globex"),
            "not json",
            attempt_line(attempt="x"),
        ),
        "dev",
    )
    # THEN only acme's own marked line is a record
    assert [(r.partner_id, r.webhook_id, r.status_code) for r in got] == [("acme", "msg_1", 200)]


@pytest.mark.parametrize(
    "log_group",
    [
        "/aws/lambda/hookrelay-prod-acme",
        "/aws/lambda/hookrelay-dev-results",
        "hookrelay-dev-acme",
        "/aws/lambda/x",
    ],
)
def test_lines_from_a_log_group_of_no_partner_of_the_stage_are_dropped(log_group: str) -> None:
    assert lines.records_of(batch(attempt_line(), log_group=log_group), "dev") == []


def test_a_control_message_has_no_records() -> None:
    assert lines.records_of(batch(attempt_line(), kind="CONTROL_MESSAGE"), "dev") == []


def test_the_filter_pattern_selects_the_mark() -> None:
    assert lines.FILTER_PATTERN == '{ $.record = "attempt" }'
    assert lines.is_attempt_line(json.loads(attempt_line()))
    assert not lines.is_attempt_line({"record": "other"})
