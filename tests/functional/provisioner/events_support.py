"""Helpers for the events tests (issue 14): the events queue read like Lambda's mapping, partner queues."""

from __future__ import annotations

import json
from typing import Any

from hookrelay import naming
from hookrelay.provisioning.context import Provisioner

from .conftest import aws


def queue_url(ctx: Provisioner, name: str) -> str:
    return str(aws("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def receive_events(ctx: Provisioner, visibility: int = 30, fifo: bool = False) -> dict[str, Any]:
    """Up to ten messages of the events queue (``fifo``: the FIFO one) as the SQS event Lambda would get:
    each its own messageId, the queue's ARN, the message's system attributes (a FIFO one's group)."""
    name = naming.events_fifo_queue(ctx.stage) if fifo else naming.events_queue(ctx.stage)
    url = queue_url(ctx, name)
    arn = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = aws("sqs").receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=visibility,
        MessageSystemAttributeNames=["All"],
    )
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "eventSourceARN": arn,
        }
        for m in messages.get("Messages", [])
    ]
    return {"Records": records}


def acknowledge(ctx: Provisioner, event: dict[str, Any], answer: dict[str, Any]) -> None:
    """Delete the records the answer did not report as failed (what the mapping does), each from the
    queue it came from (its ``eventSourceARN``, else the events queue)."""
    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    for record in event["Records"]:
        name = record.get("eventSourceARN", naming.events_queue(ctx.stage)).rsplit(":", 1)[-1]
        if record["messageId"] not in failed:
            aws("sqs").delete_message(QueueUrl=queue_url(ctx, name), ReceiptHandle=record["receiptHandle"])


def partner_messages(ctx: Provisioner, partner_id: str) -> list[dict[str, Any]]:
    """Every message body on the partner's queue (received and left invisible: read once per test)."""
    url = queue_url(ctx, naming.partner_queue(ctx.stage, partner_id))
    found: list[dict[str, Any]] = []
    while True:
        batch = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        if not batch.get("Messages"):
            return found
        found += [json.loads(m["Body"]) for m in batch["Messages"]]


def queued_events(ctx: Provisioner, fifo: bool = False) -> int:
    name = naming.events_fifo_queue(ctx.stage) if fifo else naming.events_queue(ctx.stage)
    url = queue_url(ctx, name)
    attributes = aws("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
