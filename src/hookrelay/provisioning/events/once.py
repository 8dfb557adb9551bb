"""Publish once: an event id seen within the dedup window is not enqueued again.

One item per id in ``hookrelay-<stage>-events`` (pk ``pk``: ``event/<id>`` for ``POST /events``,
``partner/<partner>/<id>`` for ``POST /partners/{id}/events``), written with a conditional PutItem and a
TTL (``expires_at``), never found by a scan. Publishing an id is three steps:

1. :meth:`Once.claim` writes the item ``pending`` unless one is there, younger than the window. An item
   past ``expires_at`` that DynamoDB's TTL has not deleted yet (it may take days) counts as absent.
2. The caller enqueues the event.
3. :meth:`Once.done` marks it ``sent`` with the answer the producer got; :meth:`Once.release` deletes the
   claim if the enqueue failed, so the producer's retry publishes it.

A second publish of the id gets the first one's answer, marked ``duplicate``. One that finds it
``pending`` (the first is publishing right now) gets a 409 to retry; a ``pending`` claim older than
:data:`PENDING_GRACE` belonged to a publisher that died between the claim and the enqueue, and is taken
over, so a crash there never loses the event (the worst case is one more enqueue with the same id, which
the partner sees as the same ``webhook-id``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import Conflict
from hookrelay.models import utcnow

PENDING_GRACE = timedelta(seconds=60)
DEFAULT_WINDOW = timedelta(hours=24)

logger = logging.getLogger(__name__)


def event_key(event_id: str) -> str:
    return f"event/{event_id}"


def partner_event_key(partner_id: str, webhook_id: str) -> str:
    return f"partner/{partner_id}/{webhook_id}"


@dataclass
class Once:
    table: str
    clients: Clients
    window: timedelta = DEFAULT_WINDOW
    clock: Callable[[], datetime] = field(default=utcnow)

    @classmethod
    def of_stage(cls, stage: str, clients: Clients, window: timedelta = DEFAULT_WINDOW) -> Once:
        return cls(naming.events_table(stage), clients, window)

    def claim(self, key: str) -> dict[str, Any] | None:
        """None: the id is ours to publish now. Else the answer its first publish got (a duplicate).
        Conflict (409) while another publish of it is in progress."""
        now = self.clock().timestamp()
        item = {
            "pk": {"S": key},
            "state": {"S": "pending"},
            "claimed_at": {"N": f"{now:.3f}"},
            "expires_at": {"N": str(int(now + self.window.total_seconds()))},
        }
        try:
            self.clients.dynamodb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now "
                "OR (#state = :pending AND claimed_at < :stale)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":now": {"N": str(int(now))},
                    ":pending": {"S": "pending"},
                    ":stale": {"N": f"{now - PENDING_GRACE.total_seconds():.3f}"},
                },
            )
            return None
        except AWS_ERRORS as exc:
            if not has_code(exc, "ConditionalCheckFailedException"):
                raise aws_error(f"claim event id ({key})", exc) from exc
        return self._original(key)

    def _original(self, key: str) -> dict[str, Any]:
        try:
            found = self.clients.dynamodb.get_item(
                TableName=self.table, Key={"pk": {"S": key}}, ConsistentRead=True
            ).get("Item")
        except AWS_ERRORS as exc:
            raise aws_error(f"read event id ({key})", exc) from exc
        if found is None or "answer" not in found:  # pending (or deleted by TTL this very moment)
            raise Conflict("an event with this id is being published right now: retry in a few seconds")
        answer: dict[str, Any] = json.loads(found["answer"]["S"])
        return answer

    def done(self, key: str, answer: dict[str, Any]) -> None:
        """Mark the id published with the answer a duplicate will get."""
        try:
            self.clients.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression="SET #state = :sent, answer = :answer",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":sent": {"S": "sent"}, ":answer": {"S": json.dumps(answer)}},
            )
        except AWS_ERRORS as exc:
            # enqueued already: the claim stays pending and a retry after the grace enqueues it again
            # (same id, so the partner sees the same webhook-id); the producer still gets its answer
            logger.warning("could not mark an event id published", extra={"key": key, "error": str(exc)})

    def release(self, key: str) -> None:
        """Forget a claim whose enqueue failed (best effort: a leftover one is taken over after the grace)."""
        try:
            self.clients.dynamodb.delete_item(TableName=self.table, Key={"pk": {"S": key}})
        except AWS_ERRORS as exc:
            logger.warning("could not release an event id", extra={"key": key, "error": str(exc)})
