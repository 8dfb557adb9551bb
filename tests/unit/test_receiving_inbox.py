"""The inbox consumer: every queued webhook reaches the partner's processing, failures come back."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from hookrelay.errors import InvalidInput
from hookrelay.receiving.inbox import BatchFailed, ReceivedWebhook, consume, log_webhook

EVENT = Path(__file__).resolve().parents[1] / "events" / "receiver_inbox_sqs.json"


def event(records: slice = slice(None)) -> dict[str, Any]:
    """The sample inbox event: two webhooks, then a message that is not one."""
    loaded = json.loads(EVENT.read_text())
    return {"Records": loaded["Records"][records]}


def test_each_webhook_reaches_processing_with_its_attributes() -> None:
    seen: list[ReceivedWebhook] = []
    assert consume(event(slice(0, 2)), seen.append) == {"batchItemFailures": []}
    assert [(w.webhook_id, w.type, w.timestamp) for w in seen] == [
        ("msg_first", "customer.created", 1795456800),
        ("msg_second", "customer.deleted", 1795456801),
    ]
    assert seen[0].payload["data"] == {"customer": "cus_1"}


def test_default_processing_logs_the_id_and_type_but_not_the_payload(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="hookrelay.receiving.inbox"):
        consume(event(slice(0, 1)), log_webhook)
    [record] = caplog.records
    assert (record.getMessage(), record.webhook_id, record.type) == (  # type: ignore[attr-defined]
        "webhook received",
        "msg_first",
        "customer.created",
    )
    assert "cus_1" not in caplog.text


def test_with_partial_batch_only_the_failed_records_come_back() -> None:
    # GIVEN processing that fails the second webhook, and a third message that is no webhook at all
    def process(webhook: ReceivedWebhook) -> None:
        if webhook.webhook_id == "msg_second":
            raise RuntimeError("downstream is down")

    # WHEN consumed with ReportBatchItemFailures on THEN exactly those two are reported
    assert consume(event(), process, partial_batch=True) == {
        "batchItemFailures": [
            {"itemIdentifier": "5f4ad0b0-8d0a-4c55-9a1e-000000000002"},
            {"itemIdentifier": "5f4ad0b0-8d0a-4c55-9a1e-000000000003"},
        ]
    }


class RecordingSqs:
    """An SQS client that records lookups and batch deletes and confirms each (no AWS in a unit test)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def get_queue_url(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("get_queue_url", kwargs))
        return {"QueueUrl": f"https://sqs.example/{kwargs['QueueName']}"}

    def delete_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("delete_message_batch", kwargs))
        return {"Successful": [{"Id": e["Id"]} for e in kwargs["Entries"]], "Failed": []}


def test_without_partial_batch_the_processed_are_deleted_then_the_batch_fails() -> None:
    # Returning batchItemFailures to a mapping without ReportBatchItemFailures would delete them all:
    # GIVEN two webhooks and a message that is none, consumed without partial batch responses
    sqs = RecordingSqs()
    # WHEN consumed THEN it raises, so the failed one comes back
    with pytest.raises(BatchFailed, match=r"^1 of 3 webhooks failed and come back$"):
        consume(event(), lambda webhook: None, sqs=sqs)  # type: ignore[arg-type]
    # AND the two processed were deleted first, from the queue their eventSourceARN names
    assert sqs.calls == [
        (
            "get_queue_url",
            {"QueueName": "hookrelay-receiver-inbox", "QueueOwnerAWSAccountId": "123456789012"},
        ),
        (
            "delete_message_batch",
            {
                "QueueUrl": "https://sqs.example/hookrelay-receiver-inbox",
                "Entries": [{"Id": "0", "ReceiptHandle": "rh-1"}, {"Id": "1", "ReceiptHandle": "rh-2"}],
            },
        ),
    ]


def test_without_partial_batch_a_batch_that_all_succeeds_deletes_nothing_itself() -> None:
    # GIVEN two webhooks that process WHEN consumed without partial batches THEN Lambda deletes them
    sqs = RecordingSqs()
    assert consume(event(slice(0, 2)), lambda webhook: None, sqs=sqs) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert sqs.calls == []


def _poisoned(record: dict[str, Any], mutate: str) -> dict[str, Any]:
    """A copy of ``record`` broken in one way a queue can deliver (or a hand-built event can hold)."""
    broken = json.loads(json.dumps(record))
    broken["messageId"] = f"poison-{mutate}"
    if mutate == "deep-json":
        broken["body"] = "[" * 100_000 + "]" * 100_000  # json.loads raises RecursionError
    elif mutate == "attribute-not-an-object":
        broken["messageAttributes"]["WebhookId"] = "msg_x"  # .get on a str
    elif mutate == "no-body":
        del broken["body"]
    elif mutate == "attributes-a-list":
        broken["messageAttributes"] = ["WebhookId"]
    return broken


@pytest.mark.parametrize("mutate", ["deep-json", "attribute-not-an-object", "no-body", "attributes-a-list"])
def test_with_partial_batch_an_unparseable_record_fails_alone(mutate: str) -> None:
    # GIVEN a good webhook followed by one record broken in a way the parser never expected
    (good,) = event(slice(0, 1))["Records"]
    seen: list[ReceivedWebhook] = []
    # WHEN consumed with ReportBatchItemFailures on
    answer = consume({"Records": [good, _poisoned(good, mutate)]}, seen.append, partial_batch=True)
    # THEN only the broken record comes back, and the good one was processed
    assert answer == {"batchItemFailures": [{"itemIdentifier": f"poison-{mutate}"}]}
    assert [w.webhook_id for w in seen] == ["msg_first"]


def test_a_record_without_a_message_id_sends_the_whole_batch_back() -> None:
    # GIVEN a record that cannot be reported (no messageId) WHEN consumed THEN nothing is acknowledged
    (good,) = event(slice(0, 1))["Records"]
    anonymous = {k: v for k, v in good.items() if k != "messageId"}
    with pytest.raises(InvalidInput, match="a record has no messageId"):
        consume({"Records": [good, anonymous]}, lambda webhook: None, partial_batch=True)


def test_an_event_without_records_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not an SQS event: no Records list"):
        consume({"records": []}, lambda webhook: None, partial_batch=True)
