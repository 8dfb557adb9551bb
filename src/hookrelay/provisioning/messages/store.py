"""The message store (``hookrelay-<stage>-messages``): every webhook's envelope, kept for resend and replay.

One item per webhook, key (``partner_id``, ``webhook_id``): ``doc`` the :class:`WebhookMessage` JSON
(topic, payload, id, partner, created time; the delivery state is dropped, and there is never a signature
or a secret in it), ``created`` (``<time>#<id>``, the sort key of the ``by-time`` index replay reads),
``expires_at`` (DynamoDB TTL, ``messages_ttl_days`` after creation) and, once an attempt delivered it,
``delivered_at`` (written by the attempt recorder). An envelope larger than ``inline_bytes`` (DynamoDB
items stop at 400 KB; SQS takes up to 1 MiB) is put in S3 at ``messages/<partner>/<id>.json`` and the item
holds ``body_key`` instead of ``doc``.

:meth:`MessageStore.keep` writes with BatchWriteItem, 25 items a request, retrying unprocessed items
with a backoff. The publisher keeps a message *before* sending it: a message kept but never sent is
harmless (resend or replay can send it), one sent but not kept could never be resent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import DependencyUnavailable, NotFound
from hookrelay.models import WebhookMessage, utcnow
from hookrelay.provisioning.messages.model import StoredMessage
from hookrelay.provisioning.resources.message_tables import BY_TIME

logger = logging.getLogger(__name__)
WRITE_BATCH = 25  # BatchWriteItem's limit
READ_BATCH = 100  # BatchGetItem's limit
RETRIES = 8  # unprocessed items are retried this often (backoff 0.05 s doubling) before failing


class Expired(NotFound):
    """A webhook past its retention (TTL not yet applied), or whose body is gone: 410."""

    status_code = 410
    code = "expired"


def time_key(at: datetime, webhook_id: str = "") -> str:
    """The ``created`` sort key: sortable UTC time, then the id (``#`` is not in ids)."""
    return f"{at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{webhook_id}"


@dataclass
class MessageStore:
    stage: str
    clients: Clients = field(default_factory=Clients)
    ttl_days: int = 30
    bucket: str | None = None  # for envelopes over inline_bytes (default: the stage artifact bucket)
    inline_bytes: int = 350_000
    clock: Callable[[], datetime] = utcnow

    @property
    def table(self) -> str:
        return naming.messages_table(self.stage)

    def keep(self, messages: Sequence[WebhookMessage]) -> None:
        """Keep every message (an id kept again is replaced); raises a domain error when it could not."""
        items = [self._item(m) for m in messages]
        for start in range(0, len(items), WRITE_BATCH):
            self._write([{"PutRequest": {"Item": i}} for i in items[start : start + WRITE_BATCH]])

    def _item(self, message: WebhookMessage) -> dict[str, Any]:
        doc = message.model_dump_json(exclude={"delivery"}, exclude_none=True)
        expires = message.created_at + timedelta(days=self.ttl_days)
        item: dict[str, Any] = {
            "partner_id": {"S": message.partner_id},
            "webhook_id": {"S": message.id},
            "created": {"S": time_key(message.created_at, message.id)},
            "expires_at": {"N": str(int(expires.timestamp()))},
        }
        if len(doc.encode()) <= self.inline_bytes:
            return {**item, "doc": {"S": doc}}
        key = f"messages/{message.partner_id}/{message.id}.json"
        try:
            self.clients.s3.put_object(Bucket=self._bucket, Key=key, Body=doc.encode())
        except AWS_ERRORS as exc:
            raise aws_error(f"keep the body of webhook {message.id}", exc) from exc
        return {**item, "body_key": {"S": key}}

    @property
    def _bucket(self) -> str:
        return self.bucket or naming.artifact_bucket(self.stage)

    def _write(self, requests: list[Any]) -> None:
        wait = 0.05
        for _ in range(RETRIES):
            try:
                answer = self.clients.dynamodb.batch_write_item(RequestItems={self.table: requests})
            except AWS_ERRORS as exc:
                raise aws_error("keep webhooks in the message store", exc) from exc
            requests = answer.get("UnprocessedItems", {}).get(self.table, [])
            if not requests:
                return
            self.clients.sleep(wait)
            wait *= 2
        raise DependencyUnavailable(f"{len(requests)} webhooks not kept: DynamoDB kept throttling")

    def get(self, partner_id: str, webhook_id: str) -> StoredMessage:
        """A kept webhook; NotFound (404) when none, :class:`Expired` (410) past its retention."""
        try:
            found = self.clients.dynamodb.get_item(
                TableName=self.table,
                Key={"partner_id": {"S": partner_id}, "webhook_id": {"S": webhook_id}},
            )
        except AWS_ERRORS as exc:
            raise aws_error(f"read webhook {webhook_id} of {partner_id}", exc) from exc
        item = found.get("Item")
        if item is None:
            raise NotFound(f"no webhook {webhook_id!r} of partner {partner_id!r} is kept")
        return self._stored(item)

    def _stored(self, item: dict[str, Any]) -> StoredMessage:
        webhook_id = item["webhook_id"]["S"]
        expires_at = datetime.fromtimestamp(int(item["expires_at"]["N"]), tz=UTC)
        if expires_at <= self.clock():
            raise Expired(f"webhook {webhook_id!r} expired at {expires_at.isoformat()}")
        doc = item["doc"]["S"] if "doc" in item else self._body(item["body_key"]["S"], webhook_id)
        delivered = item.get("delivered_at", {}).get("S")
        return StoredMessage(
            message=WebhookMessage.model_validate_json(doc), expires_at=expires_at, delivered_at=delivered
        )

    def _body(self, key: str, webhook_id: str) -> str:
        try:
            return self.clients.s3.get_object(Bucket=self._bucket, Key=key)["Body"].read().decode()
        except AWS_ERRORS as exc:
            if has_code(exc, "NoSuchKey", "404"):
                raise Expired(f"the body of webhook {webhook_id!r} is gone") from exc
            raise aws_error(f"read the body of webhook {webhook_id}", exc) from exc

    def load(self, partner_id: str, webhook_ids: Sequence[str]) -> list[StoredMessage]:
        """The kept webhooks of these ids still within retention, in the order given (BatchGetItem)."""
        found: dict[str, StoredMessage] = {}
        ids = list(dict.fromkeys(webhook_ids))
        for start in range(0, len(ids), READ_BATCH):
            chunk = ids[start : start + READ_BATCH]
            keys = [{"partner_id": {"S": partner_id}, "webhook_id": {"S": i}} for i in chunk]
            request: Any = {self.table: {"Keys": keys}}
            while request:
                try:
                    answer = self.clients.dynamodb.batch_get_item(RequestItems=request)
                except AWS_ERRORS as exc:
                    raise aws_error(f"read webhooks of {partner_id}", exc) from exc
                for item in answer.get("Responses", {}).get(self.table, []):
                    try:
                        found[item["webhook_id"]["S"]] = self._stored(item)
                    except Expired:
                        continue
                request = answer.get("UnprocessedKeys") or None
        return [found[i] for i in ids if i in found]

    def _range_query(
        self, partner_id: str, since: datetime, until: datetime, only_failed: bool
    ) -> dict[str, Any]:
        """The ``by-time`` query of webhooks created in [since, until), unexpired (and never delivered)."""
        condition = "expires_at > :now" + (" AND attribute_not_exists(delivered_at)" if only_failed else "")
        return {
            "TableName": self.table,
            "IndexName": BY_TIME,
            "KeyConditionExpression": "partner_id = :p AND created BETWEEN :since AND :until",
            "FilterExpression": condition,
            "ExpressionAttributeValues": {
                ":p": {"S": partner_id},
                ":since": {"S": time_key(since)},
                ":until": {"S": time_key(until - timedelta(microseconds=1), "~")},  # "~" sorts after ids
                ":now": {"N": str(int(self.clock().timestamp()))},
            },
        }

    def count(self, partner_id: str, since: datetime, until: datetime, only_failed: bool) -> int:
        """How many webhooks a replay of this range matches: Select=COUNT, no body read."""
        query = {**self._range_query(partner_id, since, until, only_failed), "Select": "COUNT"}
        total = 0
        while True:
            try:
                answer = self.clients.dynamodb.query(**query)
            except AWS_ERRORS as exc:
                raise aws_error(f"count webhooks of {partner_id}", exc) from exc
            total += int(answer.get("Count", 0))
            last = answer.get("LastEvaluatedKey")
            if last is None:
                return total
            query["ExclusiveStartKey"] = last

    def page(
        self,
        partner_id: str,
        since: datetime,
        until: datetime,
        only_failed: bool,
        limit: int,
        cursor: dict[str, Any] | None,
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Up to ``limit`` matching webhook ids from ``cursor`` (a LastEvaluatedKey) in time order, and the
        next cursor (None at the end). Fewer when the filter drops some; the same for the same cursor."""
        query = {**self._range_query(partner_id, since, until, only_failed), "Limit": limit}
        if cursor:
            query["ExclusiveStartKey"] = cursor
        try:
            answer = self.clients.dynamodb.query(**query)
        except AWS_ERRORS as exc:
            raise aws_error(f"read webhooks of {partner_id}", exc) from exc
        ids = [i["webhook_id"]["S"] for i in answer.get("Items", [])]
        return ids, answer.get("LastEvaluatedKey")
