"""What sqs-mv sends for one received message, and which messages a filter lets through (no AWS)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookrelay.aws.sqs import DEAD_LETTERED_AT_ATTRIBUTE, ORIGIN_ATTRIBUTE, REASON_ATTRIBUTE
from hookrelay.mover.messages import Outgoing, outgoing, pack, parse_filter

ORIGIN = "https://sqs.us-east-1.amazonaws.com/123456789012/hookrelay-dev-acme"


def received(body: Any = None, **attributes: str) -> dict[str, Any]:
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "rh-1",
        "Body": body if isinstance(body, str) else json.dumps(body or {"partner": "acme", "n": 1}),
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ("attr.kind=invoice", True),
        ("attr.kind=refund", False),
        ("attr.kind~voi", True),
        ("attr.missing=x", False),
        ("body.partner=acme", True),
        ("body.n=1", True),
        ("body.nested.deeper=1", False),
        ("body~acme", True),
    ],
)
def test_filters_match_attributes_and_body_fields(expression: str, matches: bool) -> None:
    assert parse_filter(expression).matches(received(kind="invoice")) is matches


def test_a_body_filter_on_a_non_json_body_does_not_match() -> None:
    assert parse_filter("body.partner=acme").matches(received("plain text")) is False


@pytest.mark.parametrize("expression", ["kind=invoice", "attr.=x", "body.=x", "attr.kind", "=x"])
def test_malformed_filters_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match="bad filter"):
        parse_filter(expression)


def test_going_back_to_the_origin_drops_only_the_dead_letter_attributes() -> None:
    message = received(
        **{ORIGIN_ATTRIBUTE: ORIGIN, REASON_ATTRIBUTE: "gone", DEAD_LETTERED_AT_ATTRIBUTE: "t", "trace": "x"}
    )
    entry = outgoing(message, ORIGIN, reset_attempts=False).entry
    assert set(entry["MessageAttributes"]) == {"trace"}


def test_moving_elsewhere_keeps_the_dead_letter_attributes() -> None:
    message = received(**{ORIGIN_ATTRIBUTE: ORIGIN, REASON_ATTRIBUTE: "gone"})
    entry = outgoing(
        message, "https://sqs.us-east-1.amazonaws.com/123456789012/archive", reset_attempts=False
    ).entry
    assert set(entry["MessageAttributes"]) == {ORIGIN_ATTRIBUTE, REASON_ATTRIBUTE}


def test_a_standard_message_to_a_fifo_queue_gets_its_id_as_group_and_dedup_id() -> None:
    entry = outgoing(
        received(), "https://sqs.us-east-1.amazonaws.com/1/dest.fifo", reset_attempts=False
    ).entry
    assert (entry["MessageGroupId"], entry["MessageDeduplicationId"]) == ("m-1", "m-1")


def test_batches_hold_ten_entries_and_stay_under_the_payload_limit() -> None:
    def item(size: int) -> Outgoing:
        return Outgoing("m", "rh", "q", {"MessageBody": "x" * size})

    assert [len(b) for b in pack([item(10) for _ in range(23)])] == [10, 10, 3]
    assert [len(b) for b in pack([item(100_000) for _ in range(5)])] == [2, 2, 1]
