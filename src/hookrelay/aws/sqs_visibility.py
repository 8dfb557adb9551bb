"""``ChangeMessageVisibility``: how an ordered (FIFO) partner's message waits for its retry. SQS FIFO has
no per-message delay, and a re-send would put the message behind the rest of its group, so the handler
hides the received message instead (and makes the records behind it visible again at once). Only the
handler calls these (its role may, on its own queue: ``provisioning.resources.iam``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from hookrelay.aws import clients as aws
from hookrelay.aws.errors import AWS_ERRORS, aws_error, error_code
from hookrelay.aws.sqs import queue_name

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.type_defs import ChangeMessageVisibilityBatchRequestEntryTypeDef

MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's ceiling for a message's visibility timeout


logger = logging.getLogger(__name__)


def change_visibility(
    queue_url: str, receipt_handle: str, seconds: int, sqs: SQSClient | None = None
) -> None:
    """Hide a received message for ``seconds`` from now (0: visible at once), capped at 12 hours."""
    client = sqs or aws.client("sqs")
    timeout = max(0, min(int(seconds), MAX_VISIBILITY_SECONDS))
    try:
        client.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=timeout
        )
    except AWS_ERRORS as exc:
        raise aws_error(f"change visibility on {queue_name(queue_url)}", exc) from exc


def release(queue_url: str, receipt_handles: Iterable[str], sqs: SQSClient | None = None) -> int:
    """Make received messages visible again now, ten a request; return how many SQS refused (they come
    back after their visibility timeout instead: later, never lost)."""
    client = sqs or aws.client("sqs")
    handles, stuck = list(receipt_handles), 0
    for start in range(0, len(handles), 10):
        chunk = handles[start : start + 10]
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0} for i, handle in enumerate(chunk)
        ]
        try:
            response = client.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
            stuck += len(response.get("Failed", []))
        except AWS_ERRORS as exc:
            logger.warning("release failed", extra={"queue": queue_name(queue_url), "code": error_code(exc)})
            stuck += len(chunk)
    return stuck
