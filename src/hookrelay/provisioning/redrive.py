"""``POST /partners/{id}/redrive``: a partner's dead letters back on its queue, each with a fresh attempt
count (the endpoint was fixed: every webhook gets the whole retry schedule again), same webhook id.

A bounded loop (``max_messages``, at most 1,000 a call): receive up to 10 from the DLQ (hidden for a
minute meanwhile), send the readable ones to the partner queue in one batch, then delete from the DLQ
exactly those SQS took. Sent before deleted: a failure in between redrives a webhook twice (the same
webhook id: the partner's idempotency key), never loses one. A body that is not a webhook message stays
in the DLQ (counted as ``unreadable``).

An ordered partner's ``.fifo`` DLQ goes back to its ``.fifo`` queue one letter at a time, in the order the
DLQ hands them out (its group order), each in its own message group, under a deduplication id of this
call's (the webhook id would be dropped by SQS within 5 minutes of its first send); the first send SQS
refuses stops the call, so no letter of a group overtakes an earlier one.
"""

from __future__ import annotations

import logging
import secrets

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hookrelay.aws import sqs as queues
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.errors import Conflict, HookrelayError
from hookrelay.models import DeliveryState, WebhookMessage
from hookrelay.partners.ordering import again_dedup_id, dead_letter_queue_name, group_id, is_fifo, queue_name
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.resources.queues import depths, find_queue_url

logger = logging.getLogger(__name__)
HIDE_SECONDS = 60


class RedriveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_messages: int = Field(default=100, ge=1, le=1000, description="dead letters moved by this call")


class Redriven(BaseModel):
    partner_id: str
    moved: int = Field(description="sent back to the partner queue and deleted from the DLQ")
    unreadable: int = Field(description="not webhook messages: left in the DLQ")
    left: int | None = Field(description="visible in the DLQ afterwards (approximate)")


def redrive(ctx: Provisioner, partner_id: str, request: RedriveRequest) -> Redriven:
    ordering = ctx.partners.get(partner_id).ordering
    dlq_name = dead_letter_queue_name(ctx.stage, partner_id, ordering)
    dlq = find_queue_url(dlq_name, ctx.clients)
    queue = find_queue_url(queue_name(ctx.stage, partner_id, ordering), ctx.clients)
    again = f"redrive-{secrets.token_hex(8)}" if is_fifo(ordering) else None
    if dlq is None or queue is None:
        raise Conflict(f"the queues of partner {partner_id!r} are missing: run create again")
    moved = unreadable = 0
    while moved + unreadable < request.max_messages:
        wanted = min(10, request.max_messages - moved - unreadable)
        try:
            received = ctx.clients.sqs.receive_message(
                QueueUrl=dlq,
                MaxNumberOfMessages=wanted,
                VisibilityTimeout=HIDE_SECONDS,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["MessageGroupId"],
            ).get("Messages", [])
        except AWS_ERRORS as exc:
            raise aws_error(f"receive from {dlq_name}", exc) from exc
        if not received:
            break
        handles, bodies, groups = [], [], []
        for message in received:
            try:
                fresh = WebhookMessage.model_validate_json(message["Body"]).with_delivery(DeliveryState())
            except ValidationError:
                unreadable += 1
                continue
            handles.append(message["ReceiptHandle"])
            bodies.append(fresh.to_sqs_body())
            group = dict(message.get("Attributes") or {}).get("MessageGroupId")
            groups.append((group or group_id(fresh.ordering_key), fresh.id))
        if again is not None:
            failed = _send_in_order(ctx, queue, bodies, groups, again)
        else:
            failed = set(queues.send_batch(queue, bodies, sqs=ctx.clients.sqs)) if bodies else set()
        sent = [handle for i, handle in enumerate(handles) if i not in failed]
        # a delete that fails leaves the letter to reappear: redriven again later, same id; not counted
        undeleted = queues.delete_batch(dlq, sent, sqs=ctx.clients.sqs) if sent else []
        moved += len(sent) - len(undeleted)
        if failed:
            break  # SQS refused some: stop here; they become visible in the DLQ again
    left = (depths(dlq_name, ctx.clients) or {}).get("visible")
    logger.info(
        "dead letters redriven", extra={"partner_id": partner_id, "moved": moved, "unreadable": unreadable}
    )
    return Redriven(partner_id=partner_id, moved=moved, unreadable=unreadable, left=left)


def _send_in_order(
    ctx: Provisioner, queue: str, bodies: list[str], groups: list[tuple[str, str]], again: str
) -> set[int]:
    """Send FIFO letters one by one; the indexes not sent (the first refused and every later one)."""
    for i, (body, (group, webhook_id)) in enumerate(zip(bodies, groups, strict=True)):
        try:
            queues.send_message(
                queue,
                body,
                group_id=group,
                deduplication_id=again_dedup_id(webhook_id, again),
                sqs=ctx.clients.sqs,
            )
        except HookrelayError as exc:
            logger.warning("redrive send refused", extra={"queue": queue, "error": exc.message})
            return set(range(i, len(bodies)))
    return set()
