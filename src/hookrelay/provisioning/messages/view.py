"""GET a kept webhook with every attempt, and resend it (same webhook-id, a fresh attempt count)."""

from __future__ import annotations

import logging
import re
import secrets

from hookrelay.attempts.log import AttemptLog, webhook_attempts
from hookrelay.errors import InvalidInput
from hookrelay.models import WEBHOOK_ID_PATTERN, DeliveryState
from hookrelay.provisioning.messages.model import AttemptView, Resent, WebhookView
from hookrelay.provisioning.messages.store import MessageStore
from hookrelay.provisioning.publish import EventPublisher

logger = logging.getLogger(__name__)


def check_webhook_id(webhook_id: str) -> str:
    if not re.fullmatch(WEBHOOK_ID_PATTERN, webhook_id):
        raise InvalidInput(f"webhook id {webhook_id[:140]!r} must be 1-128 of A-Z, a-z, 0-9 and '_.:-'")
    return webhook_id


def webhook_view(store: MessageStore, log: AttemptLog, partner_id: str, webhook_id: str) -> WebhookView:
    """The kept message and its attempts (oldest first; a resend's attempts follow, numbered from 1)."""
    stored = store.get(partner_id, check_webhook_id(webhook_id))
    message = stored.message
    attempts = webhook_attempts(log, partner_id, webhook_id)
    return WebhookView(
        webhook_id=message.id,
        partner_id=message.partner_id,
        topic=message.topic,
        payload=message.payload,
        created_at=message.created_at,
        expires_at=stored.expires_at,
        delivered=stored.delivered_at is not None,
        attempts=[AttemptView.model_validate(a.model_dump()) for a in attempts],
    )


def resend(
    store: MessageStore, publisher: EventPublisher, partner_id: str, webhook_id: str, ordering: str
) -> Resent:
    """Enqueue the kept message again: unknown 404, past retention (or body gone) 410. An ordered
    partner's goes to its FIFO queue in the group it was published with, under a dedup id of its own."""
    stored = store.get(partner_id, check_webhook_id(webhook_id))
    fresh = stored.message.with_delivery(DeliveryState())  # the same id and envelope, attempt count 0
    message_id = publisher.send(fresh, ordering, again=f"resend-{secrets.token_hex(8)}")
    logger.info("webhook resent", extra={"partner_id": partner_id, "webhook_id": webhook_id})
    return Resent(partner_id=partner_id, webhook_id=webhook_id, message_id=message_id)
