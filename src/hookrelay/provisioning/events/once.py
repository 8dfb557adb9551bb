"""Publish once: an event id seen within the dedup window is not enqueued again.

One item per id in ``hookrelay-<stage>-events`` (pk ``pk``: ``event/<id>`` for ``POST /events``,
``partner/<partner>/<id>`` for ``POST /partners/{id}/events``), written with a conditional PutItem and a
TTL (``expires_at``), never found by a scan. Publishing an id is three steps:

1. :meth:`Once.claim` writes the item ``pending`` unless the id is already ``sent`` within the window. An
   item past ``expires_at`` that DynamoDB's TTL has not deleted yet (it may take days) counts as absent.
2. The caller enqueues the event.
3. :meth:`Once.done` marks it ``sent`` with the answer the producer got; :meth:`Once.release` deletes the
   claim if the enqueue failed.

A second publish of a ``sent`` id gets the first one's answer, marked ``duplicate``. A ``pending`` claim is
taken over: it belongs to a publish that failed (its producer retries after a 5xx: that retry must go
through, even when the failed publish's own clean-up failed too), died between the claim and the enqueue,
or is running right now. Delivery is at-least-once and the id is every copy's ``webhook-id``, so the worst
case - two publishes of one id racing - is one extra copy the partner recognises, never a lost event and
never a producer's retry refused.
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
        """None: the id is ours to publish now. Else the answer its first publish got (a duplicate)."""
        for _ in range(2):  # the sent item may expire (TTL) between the failed condition and the read
            if self._claimed(key):
                return None
            original = self._original(key)
            if original is not None:
                return original
        raise Conflict("this event id is changing hands right now: retry")

    def _claimed(self, key: str) -> bool:
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
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR #state = :pending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":now": {"N": str(int(now))}, ":pending": {"S": "pending"}},
            )
            return True
        except AWS_ERRORS as exc:
            if not has_code(exc, "ConditionalCheckFailedException"):
                raise aws_error(f"claim event id ({key})", exc) from exc
        return False

    def _original(self, key: str) -> dict[str, Any] | None:
        """The answer a sent id got; None if the item is gone (its TTL deleted it just now)."""
        try:
            found = self.clients.dynamodb.get_item(
                TableName=self.table, Key={"pk": {"S": key}}, ConsistentRead=True
            ).get("Item")
        except AWS_ERRORS as exc:
            raise aws_error(f"read event id ({key})", exc) from exc
        if found is None or "answer" not in found:
            return None
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
            # enqueued already: the claim stays pending, so a later publish of the id enqueues it again
            # (the same webhook-id for the partner); the producer still gets its answer
            logger.warning("could not mark an event id published", extra={"key": key, "error": str(exc)})

    def release(self, key: str) -> None:
        """Forget a claim whose enqueue failed (best effort: a pending claim left over is taken over)."""
        try:
            self.clients.dynamodb.delete_item(TableName=self.table, Key={"pk": {"S": key}})
        except AWS_ERRORS as exc:
            logger.warning("could not release an event id", extra={"key": key, "error": str(exc)})
