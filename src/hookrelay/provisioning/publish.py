"""Publishing: a producer's event for a partner, checked and enqueued on the partner's queue.

The event must be of a type the partner accepts and fit in an SQS message (256 KB). The webhook id
is the caller's (an idempotency key: the partner sees it as ``webhook-id`` on every attempt) or new.
An :class:`EventPublisher` needs the stage, the partners table and an SQS client, nothing of the
provisioning context, so any Lambda holding those can publish (the provisioner builds one per call).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from hookrelay.aws import sqs as queues
from hookrelay.aws.sqs_fifo import send_fifo
from hookrelay.errors import Conflict, HookrelayError, InvalidInput, PayloadTooLarge
from hookrelay.models import Topic, WebhookId, WebhookMessage, new_webhook_id
from hookrelay.partners.model import PartnerStatus
from hookrelay.partners.ordering import OrderingKey, fifo_send_params, queue_name
from hookrelay.partners.table import PartnerRepository

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


def check_size(body: str | bytes, limit: int) -> None:
    size = len(body.encode() if isinstance(body, str) else body)
    if size > limit:
        raise PayloadTooLarge(f"event is {size} bytes; the limit is {limit}")


MAX_EVENT_BYTES = 256 * 1024  # an SQS message


@dataclass(frozen=True)
class EventPublisher:
    stage: str
    partners: PartnerRepository
    sqs: SQSClient
    max_event_bytes: int = MAX_EVENT_BYTES

    def publish(self, partner_id: str, request: PublishRequest) -> Published:
        """Enqueue the event on the partner's queue, once SQS confirms it; refuse what it would not take."""
        partner = self.partners.get(partner_id)
        if partner.status is PartnerStatus.PROVISIONING:
            raise Conflict(f"partner {partner_id!r} is not fully created: run create again")
        if not partner.accepts(request.topic):
            raise EventTypeNotAccepted(
                f"partner {partner_id!r} does not accept {request.topic!r}; it accepts {partner.event_types}"
            )
        message = WebhookMessage(
            id=request.id or new_webhook_id(),
            partner_id=partner_id,
            topic=request.topic,
            payload=request.payload,
        )
        body = message.to_sqs_body()
        check_size(body, self.max_event_bytes)
        url = self._queue_url(partner_id, partner.ordering)
        try:
            fifo = fifo_send_params(partner.ordering, message.id, request.ordering_key)
            if fifo:
                group, dedup = fifo["MessageGroupId"], fifo["MessageDeduplicationId"]
                message_id = send_fifo(url, body, group, dedup, sqs=self.sqs)
            else:
                message_id = queues.send_message(url, body, sqs=self.sqs)
        except HookrelayError:  # whatever aws_error made of it (a deleted queue is not always a 503)
            _forget_queue_url(url)  # the queue may have been deleted: look it up again next time
            raise
        logger.info(
            "event published",
            extra={"partner_id": partner_id, "webhook_id": message.id, "topic": message.topic},
        )
        return Published(
            partner_id=partner_id, webhook_id=message.id, topic=message.topic, message_id=message_id
        )

    def _queue_url(self, partner_id: str, ordering: str = "none") -> str:
        """A partner queue's URL, looked up once per endpoint (it never changes for a queue name)."""
        name = queue_name(self.stage, partner_id, ordering)
        key = (str(self.sqs.meta.endpoint_url), name)
        if key not in _queue_urls:
            found = queues.find_queue_url(name, self.sqs)
            if found is None:
                raise Conflict(f"the queue of partner {partner_id!r} is missing: run create again")
            _queue_urls[key] = found
        return _queue_urls[key]


_queue_urls: dict[tuple[str, str], str] = {}


def forget_queue_urls() -> None:
    """Forget every cached queue URL (tests: a fresh moto has other URLs for the same names)."""
    _queue_urls.clear()


def _forget_queue_url(url: str) -> None:
    for key, cached in list(_queue_urls.items()):
        if cached == url:
            _queue_urls.pop(key, None)
