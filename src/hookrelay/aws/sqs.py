"""Thin SQS wrappers: every botocore error becomes a DependencyUnavailable, with the queue named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookrelay.aws import clients as aws
from hookrelay.errors import DependencyUnavailable

# Message attributes hookrelay sets on what it dead-letters (sqs-mv --to-origin reads ORIGIN_QUEUE).
REASON_ATTRIBUTE = "HookrelayDeadLetterReason"
ORIGIN_ATTRIBUTE = "HookrelayOriginQueue"
DEAD_LETTERED_AT_ATTRIBUTE = "HookrelayDeadLetteredAt"


def string_attributes(values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items() if v}


def send_message(
    queue_url: str,
    body: str,
    *,
    delay_seconds: int = 0,
    attributes: Mapping[str, str] | None = None,
    sqs: Any | None = None,
) -> str:
    """Send one message and return its id once SQS has confirmed it."""
    client = sqs or aws.client("sqs")
    kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": body}
    if delay_seconds:
        kwargs["DelaySeconds"] = delay_seconds
    if attributes:
        kwargs["MessageAttributes"] = string_attributes(attributes)
    try:
        return str(client.send_message(**kwargs)["MessageId"])
    except aws.AWS_ERRORS as exc:
        raise DependencyUnavailable(f"cannot send to {queue_name(queue_url)}: {aws.error_code(exc)}") from exc


def send_batch(queue_url: str, bodies: list[str], sqs: Any | None = None) -> list[int]:
    """Send up to 10 bodies in one request; return the indexes that failed."""
    client = sqs or aws.client("sqs")
    entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)]
    try:
        response = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
    except aws.AWS_ERRORS:
        return list(range(len(bodies)))
    return sorted(int(failed["Id"]) for failed in response.get("Failed", []))


def queue_name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]
