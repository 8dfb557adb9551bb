"""What Lambda's SQS poller hands a function, and how it reads the answer.

- :func:`sqs_event` turns ``ReceiveMessage`` output into the event Lambda builds: lower-camel keys,
  message attributes as ``stringValue``/``binaryValue``/``dataType``, the queue's ARN and region.
- :func:`reported_failures` reads a partial batch response exactly as Lambda does: an empty or null
  answer is a complete success; an invalid answer, or an ``itemIdentifier`` that is empty, null,
  under a wrong key, or not in the batch, makes the whole batch a failure.
- :func:`fifo_kept`: on a FIFO queue, a failed record keeps every later record of its message group on
  the queue too (Lambda's rule: a group resumes at its first failure, never past it).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any


class InvalidBatchResponse(Exception):
    """The function's answer cannot be read as a partial batch response: the whole batch failed."""


def _attribute_value(value: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [_b64(v) for v in value.get("BinaryListValues", [])],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = _b64(value["BinaryValue"])
    return converted


def _b64(raw: bytes | str) -> str:
    return base64.b64encode(raw if isinstance(raw, bytes) else raw.encode()).decode()


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One Lambda SQS record from one ``ReceiveMessage`` message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {k: str(v) for k, v in message.get("Attributes", {}).items()},
        "messageAttributes": {
            name: _attribute_value(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def sqs_event(messages: Iterable[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(m, queue_arn, region) for m in messages]}


def reported_failures(response: Any, message_ids: Iterable[str]) -> frozenset[str]:
    """The message ids a ReportBatchItemFailures answer keeps on the queue.

    Raises :class:`InvalidBatchResponse` when Lambda would count the whole batch as failed.
    """
    if response is None:
        return frozenset()
    try:
        json.dumps(response)
    except (TypeError, ValueError) as exc:
        raise InvalidBatchResponse(f"the response is not JSON: {exc}") from exc
    if not isinstance(response, dict):
        raise InvalidBatchResponse(f"the response is a {type(response).__name__}, not an object")
    failures = response.get("batchItemFailures")
    if failures is None:
        return frozenset()
    if not isinstance(failures, list):
        raise InvalidBatchResponse("batchItemFailures is not a list")
    known = set(message_ids)
    failed: set[str] = set()
    for entry in failures:
        if not isinstance(entry, dict) or "itemIdentifier" not in entry:
            raise InvalidBatchResponse(f"batch item failure without itemIdentifier: {entry!r:.100}")
        identifier = entry["itemIdentifier"]
        if not isinstance(identifier, str) or not identifier:
            raise InvalidBatchResponse("empty or null itemIdentifier")
        if identifier not in known:
            raise InvalidBatchResponse(f"itemIdentifier {identifier!r:.80} is not in the batch")
        failed.add(identifier)
    return frozenset(failed)


def fifo_kept(messages: Iterable[Mapping[str, Any]], failed: frozenset[str]) -> frozenset[str]:
    """The message ids a FIFO batch keeps: the failed ones and every later one of their groups."""
    kept: set[str] = set()
    stopped: set[str] = set()
    for message in messages:
        group = str((message.get("Attributes") or {}).get("MessageGroupId", ""))
        if group in stopped or message["MessageId"] in failed:
            stopped.add(group)
            kept.add(message["MessageId"])
    return frozenset(kept)
