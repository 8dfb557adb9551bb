"""The subscription index: which partners take which event types, readable per topic at any fleet size.

A DynamoDB table ``hookrelay-<stage>-subscriptions``: pk ``pattern`` (an event-type pattern, or ``*`` for
a partner that takes everything), sk ``partner_id``, plus the partner's whole ``event_types`` and, for an
ordered partner, ``ordering`` ("fifo": the router sends to its ``.fifo`` queue, no GetItem). The router
reads one Query per candidate pattern of a topic
(:func:`hookrelay.provisioning.events.topics.candidate_patterns`, paginated), never a Scan, and needs no
GetQueueUrl per partner (:mod:`hookrelay.provisioning.events.queues` derives the URLs).

Rows are written by create (once the partner's resources exist, before it is marked ``active``), by an
update that changes ``event_types`` (the new rows first, then the old keys removed, before the partner's
document is written, so a retried update finishes the job) and removed by delete (first of all). Disable
keeps them: a disabled partner's queue keeps receiving, it only stops delivering. Partners made before
the index existed are filed once, when the deploy that brings it creates the table
(:func:`file_existing_partners`: the partners table read a page at a time, once, never per event).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.partners.model import Partner, PartnerStatus
from hookrelay.partners.table import PartnerRepository
from hookrelay.provisioning.events.topics import accepts, candidate_patterns, index_keys

if TYPE_CHECKING:
    from types_boto3_dynamodb.type_defs import QueryInputTypeDef

logger = logging.getLogger(__name__)


@dataclass
class SubscriptionIndex:
    table: str
    clients: Clients
    queries: int = 0  # Query requests made (pages count one each): the benchmark's index reads

    @classmethod
    def of_stage(cls, stage: str, clients: Clients) -> SubscriptionIndex:
        return cls(naming.subscriptions_table(stage), clients)

    def subscriptions(self, topic: str) -> dict[str, str]:
        """Every partner whose ``event_types`` accept ``topic``, with its ordering ("none" or "fifo")."""
        found: dict[str, str] = {}
        for pattern in candidate_patterns(topic):
            for item in self._rows(pattern):
                types = json.loads(item.get("event_types", {}).get("S", "[]"))
                if accepts(types, topic):  # a row always does; this guards a row written by hand
                    found[item["partner_id"]["S"]] = item.get("ordering", {}).get("S", "none")
        return found

    def _rows(self, pattern: str) -> Iterator[dict[str, Any]]:
        query: QueryInputTypeDef = {
            "TableName": self.table,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": "pattern"},
            "ExpressionAttributeValues": {":p": {"S": pattern}},
        }
        while True:
            try:
                page = self.clients.dynamodb.query(**query)
            except AWS_ERRORS as exc:
                raise aws_error(f"read the subscription index ({pattern})", exc) from exc
            self.queries += 1
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def file(self, partner_id: str, event_types: Iterable[str], ordering: str = "none") -> None:
        """Write the partner's rows (idempotent: a PutItem per key overwrites)."""
        types = sorted(set(event_types))
        for key in sorted(index_keys(types)):
            item = {
                "pattern": {"S": key},
                "partner_id": {"S": partner_id},
                "event_types": {"S": json.dumps(types)},
            }
            if ordering != "none":  # ordering is fixed at create: a row never goes stale on it
                item["ordering"] = {"S": ordering}
            try:
                self.clients.dynamodb.put_item(TableName=self.table, Item=item)
            except AWS_ERRORS as exc:
                raise aws_error(f"file partner {partner_id} under {key}", exc) from exc

    def unfile(self, partner_id: str, keys: Iterable[str]) -> None:
        """Remove the partner's rows under ``keys`` (a missing row is fine)."""
        for key in sorted(set(keys)):
            try:
                self.clients.dynamodb.delete_item(
                    TableName=self.table, Key={"pattern": {"S": key}, "partner_id": {"S": partner_id}}
                )
            except AWS_ERRORS as exc:
                raise aws_error(f"unfile partner {partner_id} from {key}", exc) from exc


def subscribe(stage: str, clients: Clients, partner: Partner, previous: Iterable[str] | None = None) -> None:
    """File ``partner`` under its event types; ``previous`` (its event types before an update): keys it
    no longer has are removed after the new rows are written."""
    pid = partner.partner_id
    index = SubscriptionIndex.of_stage(stage, clients)
    index.file(pid, partner.event_types, partner.ordering)
    if previous is not None:
        index.unfile(pid, index_keys(previous) - index_keys(partner.event_types))
    logger.info("partner subscribed", extra={"partner_id": pid, "event_types": partner.event_types})


def unsubscribe(stage: str, clients: Clients, partner: Partner | None) -> None:
    """Remove every row of ``partner`` (None: it is gone already, nothing to do)."""
    if partner is not None:
        SubscriptionIndex.of_stage(stage, clients).unfile(partner.partner_id, index_keys(partner.event_types))


def file_existing_partners(stage: str, clients: Clients) -> int:
    """File every created partner (active or disabled) of the stage; how many. Run once, at deploy."""
    partners = PartnerRepository(naming.partners_table(stage), clients)
    index = SubscriptionIndex.of_stage(stage, clients)
    filed, cursor = 0, None
    while True:
        page = partners.page(100, cursor)
        for partner in page.items:
            if partner.status is not PartnerStatus.PROVISIONING:
                index.file(partner.partner_id, partner.event_types, partner.ordering)
                filed += 1
        if page.next_cursor is None:
            return filed
        cursor = page.next_cursor
