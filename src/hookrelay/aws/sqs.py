"""Thin SQS wrappers: every botocore error becomes a DependencyUnavailable, with the queue named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hookrelay.aws import clients as aws
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.type_defs import (
        DeleteMessageBatchRequestEntryTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

# Message attributes hookrelay sets on what it dead-letters (sqs-mv --to-origin reads ORIGIN_QUEUE).
REASON_ATTRIBUTE = "HookrelayDeadLetterReason"
ORIGIN_ATTRIBUTE = "HookrelayOriginQueue"
DEAD_LETTERED_AT_ATTRIBUTE = "HookrelayDeadLetteredAt"


def string_attributes(values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items() if v}


def string_attribute(attributes: Mapping[str, Any], name: str) -> str | None:
    """A message attribute's string value, in either shape SQS hands it over: ``ReceiveMessage``'s
    (``{"StringValue": ...}``) or a Lambda event record's (``{"stringValue": ...}``). None when absent.
    """
    attribute = attributes.get(name)
    if not isinstance(attribute, Mapping):
        return None
    value = attribute.get("StringValue", attribute.get("stringValue"))
    return value if isinstance(value, str) else None


def send_message(
    queue_url: str,
    body: str,
    *,
    delay_seconds: int = 0,
    attributes: Mapping[str, str] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    sqs: SQSClient | None = None,
) -> str:
    """Send one message and return its id once SQS has confirmed it. A FIFO queue's message takes its
    ``group_id`` and ``deduplication_id`` (a duplicate within SQS's 5-minute window is confirmed too, and
    not enqueued twice)."""
    client = sqs or aws.client("sqs")
    kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": body}
    if delay_seconds:
        kwargs["DelaySeconds"] = delay_seconds
    if group_id is not None:
        kwargs["MessageGroupId"] = group_id
    if deduplication_id is not None:
        kwargs["MessageDeduplicationId"] = deduplication_id
    if attributes:
        kwargs["MessageAttributes"] = string_attributes(attributes)
    try:
        return str(client.send_message(**kwargs)["MessageId"])
    except AWS_ERRORS as exc:
        raise aws_error(f"send to {queue_name(queue_url)}", exc) from exc


def send_batch(queue_url: str, bodies: list[str], sqs: SQSClient | None = None) -> list[int]:
    """Send up to 10 bodies in one request; return the indexes that failed."""
    client = sqs or aws.client("sqs")
    entries: list[SendMessageBatchRequestEntryTypeDef] = [
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)
    ]
    try:
        response = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
    except AWS_ERRORS:
        return list(range(len(bodies)))
    return sorted(int(failed["Id"]) for failed in response.get("Failed", []))


def missing_queue(name: str) -> str:
    return f"queue {name} does not exist (or is in another account or region)"


def lookup_queue_url(name: str, sqs: SQSClient | None = None, *, owner: str | None = None) -> str:
    """The URL of the queue called ``name`` (in account ``owner``, default the caller's): the one lookup
    every wing uses. A queue that does not exist is :class:`NotFound`; any other failure the domain error
    :func:`hookrelay.aws.errors.aws_error` gives.
    """
    client = sqs or aws.client("sqs")
    try:
        if owner:
            return str(client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)["QueueUrl"])
        return str(client.get_queue_url(QueueName=name)["QueueUrl"])
    except AWS_ERRORS as exc:
        raise aws_error(f"look up queue {name}", exc, missing=missing_queue(name)) from exc


def find_queue_url(name: str, sqs: SQSClient | None = None) -> str | None:
    """:func:`lookup_queue_url`, or ``None`` when the queue does not exist."""
    try:
        return lookup_queue_url(name, sqs)
    except NotFound:
        return None


_queue_urls: dict[tuple[str, str], str] = {}


def cached_queue_url(name: str, sqs: SQSClient) -> str:
    """:func:`lookup_queue_url`, remembered per endpoint and name (a queue's URL never changes while it
    exists; a caller that finds the queue gone calls :func:`forget_queue_urls` with its URL)."""
    key = (str(sqs.meta.endpoint_url), name)
    if key not in _queue_urls:
        _queue_urls[key] = lookup_queue_url(name, sqs)
    return _queue_urls[key]


def forget_queue_urls(url: str | None = None) -> None:
    """Forget the cached URL ``url`` (a queue that may have been deleted), or every one (tests: a fresh
    moto has other URLs for the same names)."""
    for key, cached in list(_queue_urls.items()):
        if url is None or cached == url:
            _queue_urls.pop(key, None)


def queue_name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def delete_batch(queue_url: str, receipt_handles: list[str], sqs: SQSClient | None = None) -> list[int]:
    """Delete up to 10 received messages in one request; return the indexes that were not deleted."""
    client = sqs or aws.client("sqs")
    entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
        {"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(receipt_handles)
    ]
    try:
        response = client.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    except AWS_ERRORS:
        return list(range(len(receipt_handles)))
    deleted = {int(done["Id"]) for done in response.get("Successful", [])}
    return [i for i in range(len(receipt_handles)) if i not in deleted]


def queue_url_of_arn(queue_arn: str, sqs: SQSClient | None = None) -> str:
    """The URL of the queue an ARN names (``arn:<partition>:sqs:<region>:<account>:<name>``), e.g. an SQS
    record's ``eventSourceARN``. A malformed ARN is :class:`hookrelay.errors.InvalidInput`."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs" or not parts[5]:
        raise InvalidInput(f"not an SQS queue ARN: {queue_arn[:200]!r}")
    return lookup_queue_url(parts[5], sqs, owner=parts[4] or None)
