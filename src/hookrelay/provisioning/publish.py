"""Publishing: a producer's event for a partner, checked and enqueued on the partner's queue.

The event must be of a type the partner accepts and fit in an SQS message (256 KB). The webhook id
is the caller's (an idempotency key: the partner sees it as ``webhook-id`` on every attempt) or new.
A caller's id is published once per partner within the dedup window (``HOOKRELAY_EVENTS_DEDUP_HOURS``,
:mod:`hookrelay.provisioning.events.once`): publishing it again answers the original, ``duplicate``.
The webhook body is built and size-checked by :mod:`hookrelay.provisioning.events.body`, the same code
the events router fans out with.
An :class:`EventPublisher` needs the stage, the partners table and an SQS client, nothing of the
provisioning context, so any Lambda holding those can publish (the provisioner builds one per call).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from hookrelay.aws import sqs as queues
from hookrelay.errors import Conflict, HookrelayError, InvalidInput, NotFound
from hookrelay.models import Topic, WebhookId, WebhookMessage, new_webhook_id
from hookrelay.partners.model import PartnerStatus
from hookrelay.partners.ordering import OrderingKey, again_dedup_id, fifo_send_params, is_fifo, queue_name
from hookrelay.partners.table import PartnerRepository
from hookrelay.provisioning.events.body import MAX_EVENT_BYTES as MAX_EVENT_BYTES
from hookrelay.provisioning.events.body import check_size as check_size
from hookrelay.provisioning.events.body import webhook_body, webhook_message
from hookrelay.provisioning.events.once import Once, partner_event_key
from hookrelay.provisioning.events.settings import events_settings

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)


class EventTypeNotAccepted(InvalidInput):
    status_code = 422
    code = "event_type_not_accepted"


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: Topic = Field(description="the event type, e.g. 'invoice.paid'")
    payload: dict[str, Any] = Field(description="the event data (the webhook's 'data')")
    id: WebhookId | None = Field(default=None, description="idempotency key; generated when omitted")
    ordering_key: OrderingKey | None = Field(
        default=None,
        description="ordered partners: webhooks with the same key arrive in publish order (docs/ordering.md)",
    )


class Published(BaseModel):
    partner_id: str
    webhook_id: str
    topic: str
    message_id: str
    duplicate: bool = Field(default=False, description="true: this id was published already (200)")


@dataclass(frozen=True)
class EventPublisher:
    stage: str
    partners: PartnerRepository
    sqs: SQSClient
    max_event_bytes: int = MAX_EVENT_BYTES
    keep: Callable[[Sequence[WebhookMessage]], None] | None = None  # the message store, if any
    once: Once | None = field(default=None, compare=False)  # default: the stage's, over the partners' clients

    def publish(self, partner_id: str, request: PublishRequest) -> Published:
        """Enqueue the event on the partner's queue, once SQS confirms it; refuse what it would not take.
        A caller's id already published to this partner within the window: the original's answer."""
        if request.id is None:
            return self._publish(partner_id, request)
        once, key = self._once(), partner_event_key(partner_id, request.id)
        original = once.claim(key)
        if original is not None:
            return Published.model_validate({**original, "duplicate": True})
        try:
            published = self._publish(partner_id, request)
        except Exception:
            once.release(key)
            raise
        once.done(key, published.model_dump(mode="json"))
        return published

    def _once(self) -> Once:
        window = timedelta(hours=events_settings().events_dedup_hours)
        return self.once or Once.of_stage(self.stage, self.partners.clients, window)

    def _publish(self, partner_id: str, request: PublishRequest) -> Published:
        partner = self.partners.get(partner_id)
        if partner.status is PartnerStatus.PROVISIONING:
            raise Conflict(f"partner {partner_id!r} is not fully created: run create again")
        if not partner.accepts(request.topic):
            raise EventTypeNotAccepted(
                f"partner {partner_id!r} does not accept {request.topic!r}; it accepts {partner.event_types}"
            )
        key = request.ordering_key if is_fifo(partner.ordering) else None  # kept: resend/replay reuse it
        message = webhook_message(
            request.id or new_webhook_id(), partner_id, request.topic, request.payload, ordering_key=key
        )
        webhook_body(message, self.max_event_bytes)  # refused (413) before anything is kept or sent
        if self.keep is not None:  # kept first: a kept message never sent is harmless, the reverse is lost
            self.keep([message])
        message_id = self.send(message, partner.ordering)
        logger.info(
            "event published",
            extra={"partner_id": partner_id, "webhook_id": message.id, "topic": message.topic},
        )
        return Published(
            partner_id=partner_id, webhook_id=message.id, topic=message.topic, message_id=message_id
        )

    def send(
        self,
        message: WebhookMessage,
        ordering: str | None = None,
        again: str | None = None,
    ) -> str:
        """Enqueue ``message`` on its partner's queue as it is (publish, resend); SQS's message id.
        ``ordering`` None: the partner's (one GetItem). On a FIFO queue the group is the message's ordering
        key; ``again`` (a resend's or a replay's id) makes the deduplication id differ from
        the webhook id's, which SQS would otherwise drop within its 5-minute window."""
        if ordering is None:
            ordering = self.partners.get(message.partner_id).ordering
        url = self._queue_url(message.partner_id, ordering)
        body = message.to_sqs_body()
        dedup = message.id if again is None else again_dedup_id(message.id, again)
        fifo = fifo_send_params(ordering, dedup, message.ordering_key)
        try:
            return queues.send_message(
                url,
                body,
                group_id=fifo.get("MessageGroupId"),
                deduplication_id=fifo.get("MessageDeduplicationId"),
                sqs=self.sqs,
            )
        except HookrelayError:  # whatever aws_error made of it (a deleted queue is not always a 503)
            queues.forget_queue_urls(url)  # the queue may have been deleted: look it up again next time
            raise

    def send_all(self, partner_id: str, messages: Sequence[WebhookMessage], again: str | None = None) -> int:
        """Enqueue messages of one partner, in order, 10 a request (replay); how many SQS took (the rest
        failed). A FIFO partner's go one at a time and stop at the first refused, so a retry sends the
        rest in order (those sent already are dropped as duplicates of ``again``'s dedup ids for 5 min)."""
        ordering = self.partners.get(partner_id).ordering
        if is_fifo(ordering):
            for sent, message in enumerate(messages):
                try:
                    self.send(message, ordering, again=again)
                except HookrelayError:
                    return sent
            return len(messages)
        url = self._queue_url(partner_id)
        sent = 0
        for start in range(0, len(messages), 10):
            bodies = [m.to_sqs_body() for m in messages[start : start + 10]]
            sent += len(bodies) - len(queues.send_batch(url, bodies, sqs=self.sqs))
        return sent

    def _queue_url(self, partner_id: str, ordering: str = "none") -> str:
        """A partner queue's URL, looked up once per endpoint (it never changes for a queue name)."""
        try:
            return queues.cached_queue_url(queue_name(self.stage, partner_id, ordering), self.sqs)
        except NotFound as exc:
            raise Conflict(f"the queue of partner {partner_id!r} is missing: run create again") from exc
