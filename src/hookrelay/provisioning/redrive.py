"""``POST /partners/{id}/redrive``: a partner's dead letters back on its queue, each with a fresh attempt
count (the endpoint was fixed: every webhook gets the whole retry schedule again), same webhook id.

A bounded loop (``max_messages``, at most 1,000 a call): receive up to 10 from the DLQ (hidden for a
minute meanwhile), send the readable ones to the partner queue in one batch, then delete from the DLQ
exactly those SQS took. Sent before deleted: a failure in between redrives a webhook twice (the same
webhook id: the partner's idempotency key), never loses one. A body that is not a webhook message stays
in the DLQ (counted as ``unreadable``). FIFO partners are not handled here.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hookrelay import naming
from hookrelay.aws import sqs as queues
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.errors import Conflict
from hookrelay.models import DeliveryState, WebhookMessage
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
    ctx.partners.get(partner_id)
    dlq_name = naming.partner_dead_letter_queue(ctx.stage, partner_id)
    dlq = find_queue_url(dlq_name, ctx.clients)
    queue = find_queue_url(naming.partner_queue(ctx.stage, partner_id), ctx.clients)
    if dlq is None or queue is None:
        raise Conflict(f"the queues of partner {partner_id!r} are missing: run create again")
    moved = unreadable = 0
    while moved + unreadable < request.max_messages:
        wanted = min(10, request.max_messages - moved - unreadable)
        try:
            received = ctx.clients.sqs.receive_message(
                QueueUrl=dlq, MaxNumberOfMessages=wanted, VisibilityTimeout=HIDE_SECONDS, WaitTimeSeconds=0
            ).get("Messages", [])
        except AWS_ERRORS as exc:
            raise aws_error(f"receive from {dlq_name}", exc) from exc
        if not received:
            break
        handles, bodies = [], []
        for message in received:
            try:
                fresh = WebhookMessage.model_validate_json(message["Body"]).with_delivery(DeliveryState())
            except ValidationError:
                unreadable += 1
                continue
            handles.append(message["ReceiptHandle"])
            bodies.append(fresh.to_sqs_body())
        failed = set(queues.send_batch(queue, bodies, sqs=ctx.clients.sqs)) if bodies else set()
        sent = [handle for i, handle in enumerate(handles) if i not in failed]
        if sent:  # a delete that fails leaves the letter to reappear: redriven again later, same id
            queues.delete_batch(dlq, sent, sqs=ctx.clients.sqs)
        moved += len(sent)
        if failed:
            break  # SQS refused some: stop here; they become visible in the DLQ again
    left = (depths(dlq_name, ctx.clients) or {}).get("visible")
    logger.info(
        "dead letters redriven", extra={"partner_id": partner_id, "moved": moved, "unreadable": unreadable}
    )
    return Redriven(partner_id=partner_id, moved=moved, unreadable=unreadable, left=left)
