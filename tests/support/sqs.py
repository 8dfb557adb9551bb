"""Helpers for building and reading SQS state in tests."""

from __future__ import annotations

import json
import uuid
from typing import Any


def sqs_event(bodies: list[str], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:q") -> dict[str, Any]:
    """A Lambda SQS event whose records each have their own messageId (Chalice's generator reuses one)."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"rh-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def drain(sqs: Any, queue_url: str, max_polls: int = 5) -> list[dict[str, Any]]:
    """Receive (and delete) everything visible on a queue, with attributes."""
    found: list[dict[str, Any]] = []
    empty = 0
    while empty < 2 and max_polls > 0:
        max_polls -= 1
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = response.get("Messages", [])
        if not messages:
            empty += 1
            continue
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def bodies(messages: list[dict[str, Any]]) -> list[Any]:
    return [json.loads(m["Body"]) for m in messages]
