"""The receiver's inbox queue: how a verified webhook is queued, and the consumer that reads it.

A queued message's body is the webhook body exactly as hookrelay sent it (JSON text); the webhook's id,
timestamp and type travel as message attributes. The consumer turns each record into a
:class:`ReceivedWebhook` and hands it to a ``process`` function: :func:`log_webhook` by default, the
partner's own code once plugged in (see docs/receiver.md). ``process`` raises to have a webhook retried.

Why not Powertools' ``BatchProcessor`` (``process_partial_response``), which has the same design (one
record handler, ``batchItemFailures``)? Checked against Powertools 3.37:

- It always answers with ``batchItemFailures``. The receiver's inbox mapping is made by Chalice, which
  cannot turn ReportBatchItemFailures on (docs/receiver.md): there that answer would *delete* the failed
  webhooks. :func:`consume` raises :class:`BatchFailed` instead unless ``partial_batch`` says the mapping
  reads the answer, so nothing is lost either way.
- A record we cannot parse (see :func:`consume`) fails alone, and one that cannot even be reported (no
  ``messageId``) sends the whole batch back: the same rule, in ~40 lines.
- Without partial batch responses a failed record would otherwise send its whole batch of 10 back,
  again and again, until all ten dead-letter: :func:`consume` deletes the records it processed itself
  (after their processing returned) and only then raises, so only the failed ones come back and, after
  the inbox's ``maxReceiveCount``, wait in its DLQ (docs/receiver.md).
- Importing ``aws_lambda_powertools.utilities.batch`` costs ~160-360 ms on a cold start here (measured
  over an already imported receiver), more than the receiver's own imports; it ships to partners.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from hookrelay.aws import sqs as queues
from hookrelay.aws.sqs_event import SqsRecord, batch_response
from hookrelay.errors import HookrelayError, InvalidInput, validation_message

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

ATTR_ID = "WebhookId"
ATTR_TIMESTAMP = "WebhookTimestamp"
ATTR_TYPE = "WebhookType"


class ReceivedWebhook(BaseModel):
    """One verified webhook, as the partner's processing sees it."""

    webhook_id: str
    timestamp: int
    type: str | None = None
    payload: dict[str, Any]
    sqs_message_id: str

    @classmethod
    def from_record(cls, record: SqsRecord) -> ReceivedWebhook:
        attributes = record.message_attributes
        return cls(
            webhook_id=queues.string_attribute(attributes, ATTR_ID),
            timestamp=queues.string_attribute(attributes, ATTR_TIMESTAMP),
            type=queues.string_attribute(attributes, ATTR_TYPE),
            payload=json.loads(record.body),
            sqs_message_id=record.message_id,
        )


Processor = Callable[[ReceivedWebhook], None]


class BatchFailed(Exception):
    """Some records failed and partial batch responses are off: the whole batch is retried."""


def queue_webhook(
    queue_url: str,
    webhook_id: str,
    timestamp: int,
    body: str,
    payload: Mapping[str, Any],
    sqs: SQSClient | None = None,
) -> str:
    """Send a verified webhook to the inbox; returns the SQS message id once SQS has confirmed it."""
    kind = payload.get("type")
    attributes = {ATTR_ID: webhook_id, ATTR_TIMESTAMP: str(timestamp)}
    if isinstance(kind, str):
        attributes[ATTR_TYPE] = kind[:256]
    return queues.send_message(queue_url, body, attributes=attributes, sqs=sqs)


def log_webhook(webhook: ReceivedWebhook) -> None:
    """The default processing: log the webhook (not its payload) and acknowledge it."""
    logger.info(
        "webhook received",
        extra={"webhook_id": webhook.webhook_id, "type": webhook.type, "timestamp": webhook.timestamp},
    )


def consume(
    event: Mapping[str, Any], process: Processor, partial_batch: bool = False, sqs: SQSClient | None = None
) -> dict[str, Any]:
    """Process every record of an inbox SQS event.

    With ``partial_batch`` (the event source mapping has ReportBatchItemFailures on) the failed records
    are returned as ``batchItemFailures``: a record that is not a webhook (bad JSON, missing attributes,
    nested too deep, not even an SQS record but with a ``messageId``) fails alone, like one whose
    processing raised. Without it, returning them would delete them, so on any failure the records
    processed are deleted here (``sqs``, from each record's ``eventSourceARN``) and then
    :class:`BatchFailed` is raised: only the failed ones come back (a processed record whose delete
    failed comes back too, and is processed again: at least once). An event that is not an SQS event,
    or a record without a ``messageId`` (it cannot be reported), is InvalidInput: the whole batch back.
    """
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise InvalidInput("not an SQS event: no Records list")
    done = [_process_one(record, process) for record in records]
    failed = [_message_id(record) for record, ok in zip(records, done, strict=True) if not ok]
    if failed and not partial_batch:
        kept = _delete_processed([record for record, ok in zip(records, done, strict=True) if ok], sqs)
        also = f"; {kept} processed ones could not be deleted and come back too" if kept else ""
        raise BatchFailed(f"{len(failed)} of {len(records)} webhooks failed and come back{also}")
    return batch_response(failed)


def _delete_processed(records: list[Mapping[str, Any]], sqs: SQSClient | None) -> int:
    """Delete processed records from their queue; return how many could not be (they come back)."""
    by_queue: dict[str, list[str]] = {}
    for record in records:
        by_queue.setdefault(str(record.get("eventSourceARN", "")), []).append(
            str(record.get("receiptHandle"))
        )
    kept = 0
    for arn, handles in by_queue.items():
        try:
            url = queues.queue_url_of_arn(arn, sqs)
        except HookrelayError as exc:
            logger.error("cannot delete processed webhooks", extra={"queue": arn, "reason": exc.message})
            kept += len(handles)
            continue
        for start in range(0, len(handles), 10):
            kept += len(queues.delete_batch(url, handles[start : start + 10], sqs))
    if kept:
        logger.warning("processed webhooks not deleted: they will be processed again", extra={"count": kept})
    return kept


def _message_id(record: Any) -> str:
    message_id = record.get("messageId") if isinstance(record, Mapping) else None
    if not isinstance(message_id, str) or not message_id:
        raise InvalidInput("not an SQS event: a record has no messageId")
    return message_id


def _process_one(record: Any, process: Processor) -> bool:
    message_id = _message_id(record)
    try:
        webhook = ReceivedWebhook.from_record(SqsRecord.model_validate(record))
    except ValidationError as exc:
        reason = validation_message(exc, limit=1, where="record")
        logger.error(
            "inbox message is not a received webhook", extra={"sqs_message_id": message_id, "reason": reason}
        )
        return False
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        reason = type(exc).__name__
        logger.error(
            "inbox message is not a received webhook", extra={"sqs_message_id": message_id, "reason": reason}
        )
        return False
    try:
        process(webhook)
    except Exception:
        logger.exception("processing a webhook failed", extra={"webhook_id": webhook.webhook_id})
        return False
    return True
