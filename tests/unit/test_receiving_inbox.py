"""The inbox consumer: every queued webhook reaches the partner's processing, failures come back."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

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


def test_without_partial_batch_a_failure_fails_the_whole_batch() -> None:
    # Returning batchItemFailures to a mapping without ReportBatchItemFailures would delete them all.
    with pytest.raises(BatchFailed, match="1 of 3 webhooks failed"):
        consume(event(), lambda webhook: None)
