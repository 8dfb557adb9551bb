"""What a partner queue receives for an event: one code path for ``POST /partners/{id}/events``, the
router's fan-out and the size check ``POST /events`` makes up front.

A webhook body is a :class:`hookrelay.models.WebhookMessage` as JSON, and must fit in an SQS message.
``POST /events`` checks the body the router will build for the longest partner id there can be, so an
event it accepts never fails the size check at fan-out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hookrelay.errors import PayloadTooLarge
from hookrelay.models import WebhookMessage

MAX_EVENT_BYTES = 256 * 1024  # an SQS message
LONGEST_PARTNER_ID = "p" * 32  # PARTNER_ID_PATTERN's longest


def check_size(body: str | bytes, limit: int) -> None:
    size = len(body.encode() if isinstance(body, str) else body)
    if size > limit:
        raise PayloadTooLarge(f"event is {size} bytes; the limit is {limit}")


def webhook_message(
    webhook_id: str,
    partner_id: str,
    topic: str,
    payload: dict[str, Any],
    created_at: datetime | None = None,
    ordering_key: str | None = None,
) -> WebhookMessage:
    """The message one partner gets: ``webhook-id`` is ``webhook_id`` (the event id when routed);
    ``ordering_key``: an ordered partner's message group (kept in the store for resend and replay)."""
    fields: dict[str, Any] = {"id": webhook_id, "partner_id": partner_id, "topic": topic, "payload": payload}
    if created_at is not None:
        fields["created_at"] = created_at
    if ordering_key is not None:
        fields["ordering_key"] = ordering_key
    return WebhookMessage(**fields)


def webhook_body(message: WebhookMessage, limit: int = MAX_EVENT_BYTES) -> str:
    """The SQS body of ``message``, refused (413) when it would not fit in ``limit`` bytes."""
    body = message.to_sqs_body()
    check_size(body, limit)
    return body


def check_routable(
    webhook_id: str, topic: str, payload: dict[str, Any], limit: int, ordering_key: str | None = None
) -> None:
    """Refuse (413) an event whose webhook body would be too big for some partner (the longest id; an
    ordered one carries the ordering key too)."""
    message = webhook_message(webhook_id, LONGEST_PARTNER_ID, topic, payload, ordering_key=ordering_key)
    webhook_body(message, limit)
