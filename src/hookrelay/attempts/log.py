"""The attempt log: attempt records, kept in the deliveries table with a TTL.

They come from the partners' handlers' log lines, through a CloudWatch Logs subscription
(:func:`record_log_attempts`, :mod:`hookrelay.attempts.lines`), and, while handlers still on older code
publish them during a rollout, from the shared results queue (:func:`record_attempts`).

One item per attempt, keyed by partner and ``<time>#<webhook id>#<attempt>`` so a query reads newest
first. A record whose outcome is GONE (the endpoint answered 410) also marks the partner ``gone_at``.

Each item also carries ``webhook_key`` (``<webhook id>#<time>#<attempt>``), the sort key of the index
:data:`BY_WEBHOOK` (partner, webhook_key): a webhook's attempts are one Query, never a scan. A DELIVERED
record also stamps ``delivered_at`` on the webhook's item in the message store (if it is kept there), so a
replay of ``only_failed`` webhooks needs no read of this table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from hookrelay import naming
from hookrelay.attempts import lines
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.aws.pages import decode_cursor, encode_cursor
from hookrelay.aws.sqs_event import SqsEvent, batch_response
from hookrelay.errors import HookrelayError, InvalidInput
from hookrelay.models import AttemptRecord, Outcome
from hookrelay.partners.table import PartnerRepository

logger = logging.getLogger(__name__)
BY_WEBHOOK = "by-webhook"  # index (partner_id, webhook_key) of the deliveries table


@dataclass
class AttemptLog:
    stage: str
    ttl_days: int = 30
    clients: Clients = field(default_factory=Clients)

    @property
    def table(self) -> str:
        return naming.deliveries_table(self.stage)

    def record(self, record: AttemptRecord) -> bool:
        """Write one attempt (an idempotent put); True if it is new, False if this very attempt was
        already there (a results batch SQS delivered again), so what follows it is done once."""
        expires = record.at + timedelta(days=self.ttl_days)
        item = {
            "partner_id": {"S": record.partner_id},
            "sort_key": {
                "S": f"{record.at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{record.webhook_id}#{record.attempt:04d}"
            },
            "doc": {"S": record.model_dump_json(exclude_none=True)},
            "expires_at": {"N": str(int(expires.timestamp()))},
            "webhook_key": {"S": webhook_key(record)},
        }
        try:
            answer = self.clients.dynamodb.put_item(TableName=self.table, Item=item, ReturnValues="ALL_OLD")
        except AWS_ERRORS as exc:
            raise aws_error(f"record an attempt of {record.partner_id}", exc) from exc
        if record.outcome is Outcome.GONE:
            self._mark_gone(record)
        if record.outcome is Outcome.DELIVERED:
            self._mark_delivered(record)
        return not answer.get("Attributes")

    def _mark_delivered(self, record: AttemptRecord) -> None:
        """Stamp ``delivered_at`` on the kept message (none kept, or no store on this stage: nothing)."""
        try:
            self.clients.dynamodb.update_item(
                TableName=naming.messages_table(self.stage),
                Key={"partner_id": {"S": record.partner_id}, "webhook_id": {"S": record.webhook_id}},
                UpdateExpression="SET delivered_at = :at",
                ConditionExpression="attribute_exists(webhook_id)",
                ExpressionAttributeValues={":at": {"S": record.at.isoformat()}},
            )
        except AWS_ERRORS as exc:
            if has_code(exc, "ConditionalCheckFailedException", "ResourceNotFoundException"):
                return
            raise aws_error(f"mark a webhook of {record.partner_id} delivered", exc) from exc

    def _mark_gone(self, record: AttemptRecord) -> None:
        partners = PartnerRepository(naming.partners_table(self.stage), self.clients)
        for _ in range(3):  # a concurrent disable/update/delete wins; then read again
            partner = partners.find(record.partner_id)
            if partner is None:
                return  # deleted meanwhile: do not bring it back
            if partners.replace(partner, partner.touched(gone_at=record.at)):
                logger.warning("partner endpoint is gone (410)", extra={"partner_id": record.partner_id})
                return
        logger.warning("partner kept changing; gone_at not recorded", extra={"partner_id": record.partner_id})


def record_attempts(
    event: dict[str, Any], log: AttemptLog, observe: Callable[[list[AttemptRecord]], None] | None = None
) -> dict[str, list[dict[str, str]]]:
    """Handle a results-queue batch: an unreadable record is dropped (logged), a failed write reported
    as a batch item failure, so SQS retries that record alone (the mapping has ReportBatchItemFailures
    on; writes are idempotent puts, so a retry never doubles an attempt).

    ``observe`` (the provisioner's partner health, docs/partner-health.md) is then given the attempts
    this batch wrote first, once: an attempt already in the log (SQS delivered the results batch again,
    say after a timeout) is not counted twice. It is best effort: what it raises is logged, never fails
    the batch."""
    failed: list[str] = []
    recorded: list[AttemptRecord] = []
    for message in SqsEvent.model_validate(event).records:
        try:
            attempt = AttemptRecord.model_validate_json(message.body)
            if log.record(attempt):
                recorded.append(attempt)
        except ValidationError as exc:
            logger.error(
                "unreadable attempt record dropped",
                extra={"message_id": message.message_id, "error": str(exc)},
            )
        except HookrelayError as exc:
            logger.error(
                "attempt not recorded", extra={"message_id": message.message_id, "error": exc.message}
            )
            failed.append(message.message_id)
    _observe_new(observe, recorded)
    return batch_response(failed)


class AttemptsNotRecorded(HookrelayError):
    """Some attempt records of a subscription event could not be written (the rest were): raised so
    Lambda retries the event (twice), then hands it to the recorder's on-failure destination."""


def record_log_attempts(
    event: Mapping[str, Any],
    log: AttemptLog,
    observe: Callable[[list[AttemptRecord]], None] | None = None,
) -> int:
    """Handle a CloudWatch Logs subscription event of a partner's handler log group: write each attempt
    record of its marked lines (:func:`hookrelay.attempts.lines.records_of`: a line naming another
    partner than the log group's is dropped); return how many were new.

    Writes are idempotent puts, so an event delivered again (Lambda's retry of an async invocation)
    writes nothing twice, and ``observe`` (the provisioner's partner health) is given only the attempts
    this event wrote first, once, best effort, as :func:`record_attempts` does. A write that fails does
    not stop the others; once they are written, :class:`AttemptsNotRecorded` is raised so Lambda
    retries the event (the written ones are then old news) and, after its retries, keeps it at the
    function's on-failure destination. An event that is no subscription event is logged and dropped:
    retrying cannot mend it."""
    try:
        batch = lines.decode(event)
    except InvalidInput as exc:
        logger.error("not a CloudWatch Logs subscription event; dropped", extra={"error": exc.message})
        return 0
    failed = 0
    recorded: list[AttemptRecord] = []
    for attempt in lines.records_of(batch, log.stage):
        try:
            if log.record(attempt):
                recorded.append(attempt)
        except HookrelayError as exc:
            failed += 1
            logger.error(
                "attempt not recorded",
                extra={
                    "partner_id": attempt.partner_id,
                    "webhook_id": attempt.webhook_id,
                    "attempt": attempt.attempt,
                    "error": exc.message,
                },
            )
    _observe_new(observe, recorded)
    if failed:
        raise AttemptsNotRecorded(
            f"{failed} attempt records of {batch.log_group} not recorded ({len(recorded)} written)"
        )
    return len(recorded)


def _observe_new(
    observe: Callable[[list[AttemptRecord]], None] | None, recorded: list[AttemptRecord]
) -> None:
    """Give ``observe`` (partner health) the attempts a batch wrote first; best effort: the attempts are
    recorded whatever their health step does."""
    if observe is None or not recorded:
        return
    try:
        observe(recorded)
    except Exception:
        logger.exception("partner health step failed", extra={"attempts": len(recorded)})


class DeliveryPage(BaseModel):
    items: list[AttemptRecord]
    next_cursor: str | None = None


def list_deliveries(
    log: AttemptLog, partner_id: str, limit: int = 50, cursor: str | None = None
) -> DeliveryPage:
    """Attempts of one partner, newest first; pass ``next_cursor`` back for the next page."""
    query: dict[str, Any] = {
        "TableName": log.table,
        "KeyConditionExpression": "partner_id = :p",
        "ExpressionAttributeValues": {":p": {"S": partner_id}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if cursor:
        start = decode_cursor(cursor, ("partner_id", "sort_key"))
        if start.get("partner_id") != {"S": partner_id} or "sort_key" not in start:
            raise InvalidInput("cursor belongs to another listing")
        query["ExclusiveStartKey"] = start
    try:
        response = log.clients.dynamodb.query(**query)
    except AWS_ERRORS as exc:
        raise aws_error(f"read the deliveries of {partner_id}", exc) from exc
    items = [AttemptRecord.model_validate_json(i["doc"]["S"]) for i in response.get("Items", [])]
    return DeliveryPage(items=items, next_cursor=encode_cursor(response.get("LastEvaluatedKey")))


def webhook_key(record: AttemptRecord) -> str:
    """The :data:`BY_WEBHOOK` sort key: a webhook's attempts together, in time order (ids have no ``#``)."""
    return f"{record.webhook_id}#{record.at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{record.attempt:04d}"


def webhook_attempts(
    log: AttemptLog, partner_id: str, webhook_id: str, limit: int = 100
) -> list[AttemptRecord]:
    """Every recorded attempt of one webhook (resends included), oldest first, at most ``limit``."""
    try:
        response = log.clients.dynamodb.query(
            TableName=log.table,
            IndexName=BY_WEBHOOK,
            KeyConditionExpression="partner_id = :p AND begins_with(webhook_key, :w)",
            ExpressionAttributeValues={":p": {"S": partner_id}, ":w": {"S": f"{webhook_id}#"}},
            Limit=limit,
        )
    except AWS_ERRORS as exc:
        raise aws_error(f"read the attempts of webhook {webhook_id} of {partner_id}", exc) from exc
    return [AttemptRecord.model_validate_json(i["doc"]["S"]) for i in response.get("Items", [])]
