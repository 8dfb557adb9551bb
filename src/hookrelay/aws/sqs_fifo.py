"""A send to a FIFO queue, with its message group and deduplication id (every publish path and the
ordered handler's dead-letters). Every botocore error becomes the domain error
:func:`hookrelay.aws.errors.aws_error` gives, with the queue named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hookrelay.aws import clients as aws
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.aws.sqs import queue_name, string_attributes

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient


def send_fifo(
    queue_url: str,
    body: str,
    group_id: str,
    deduplication_id: str,
    *,
    attributes: Mapping[str, str] | None = None,
    sqs: SQSClient | None = None,
) -> str:
    """Send one message to a FIFO queue; return its id once SQS has confirmed it (a duplicate within
    SQS's 5-minute deduplication window is confirmed too, and not enqueued twice)."""
    client = sqs or aws.client("sqs")
    kwargs: dict[str, Any] = {
        "QueueUrl": queue_url,
        "MessageBody": body,
        "MessageGroupId": group_id,
        "MessageDeduplicationId": deduplication_id,
    }
    if attributes:
        kwargs["MessageAttributes"] = string_attributes(attributes)
    try:
        return str(client.send_message(**kwargs)["MessageId"])
    except AWS_ERRORS as exc:
        raise aws_error(f"send to {queue_name(queue_url)}", exc) from exc
