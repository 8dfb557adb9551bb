"""Rollouts in DynamoDB (``hookrelay-<stage>-rollouts``): a header item per rollout, a result per partner.

Keys: ``rollout_id`` and ``item`` (``#`` for the header, ``p#<partner>`` for results, ``h#<n>`` for
chunks a canary holds back). A result is a conditional put that never replaces a success or a skip, so a
chunk delivered twice (SQS is at-least-once) records each partner once; the counts are read from the
results (one query projecting the outcome), so nothing can drift. Counters on the header, written in a
transaction with each result, were tried: moto deep-copies the whole table per transaction (and fails
under concurrent ones), and on AWS every worker would contend for one item.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import NotFound
from hookrelay.provisioning.rollouts.model import Chunk, Header, Outcome, PartnerResult, RolloutState, Status

HEADER = "#"
RESULT = "p#"
HELD = "h#"
COUNTS = tuple(o.value for o in Outcome)


class RolloutStore:
    def __init__(self, stage: str, clients: Clients) -> None:
        self.table, self.clients = naming.rollouts_table(stage), clients

    def _key(self, rollout_id: str, item: str) -> dict[str, Any]:
        return {"rollout_id": {"S": rollout_id}, "item": {"S": item}}

    def create(self, header: Header) -> None:
        item = {**self._key(header.rollout_id, HEADER), "doc": {"S": header.model_dump_json()}}
        try:
            self.clients.dynamodb.put_item(TableName=self.table, Item=item)
        except AWS_ERRORS as exc:
            raise aws_error(f"record rollout {header.rollout_id}", exc) from exc

    def header(self, rollout_id: str) -> Header:
        try:
            found = self.clients.dynamodb.get_item(
                TableName=self.table, Key=self._key(rollout_id, HEADER), ConsistentRead=True
            )
        except AWS_ERRORS as exc:
            raise aws_error(f"read rollout {rollout_id}", exc) from exc
        item = found.get("Item")
        if item is None:
            raise NotFound(f"rollout {rollout_id!r} does not exist")
        return Header.model_validate_json(item["doc"]["S"])

    def hold(self, rollout_id: str, chunks: list[Chunk]) -> None:
        """Keep the chunks after a canary aside (one item each) until the operator continues."""
        try:
            for number, chunk in enumerate(chunks):
                item = {**self._key(rollout_id, f"{HELD}{number:06d}"), "doc": {"S": chunk.model_dump_json()}}
                self.clients.dynamodb.put_item(TableName=self.table, Item=item)
        except AWS_ERRORS as exc:
            raise aws_error(f"hold the rest of rollout {rollout_id}", exc) from exc

    def held(self, rollout_id: str) -> list[Chunk]:
        items = self._query(rollout_id, HELD, {})[0]
        return [Chunk.model_validate_json(i["doc"]["S"]) for i in items]

    def release(self, header: Header, chunks: int) -> None:
        """The canary passed and the held chunks are sent: forget them."""
        released = header.model_copy(update={"held": 0})
        try:
            self.clients.dynamodb.update_item(
                TableName=self.table,
                Key=self._key(header.rollout_id, HEADER),
                UpdateExpression="SET doc = :doc",
                ExpressionAttributeValues={":doc": {"S": released.model_dump_json()}},
            )
            for number in range(chunks):
                key = self._key(header.rollout_id, f"{HELD}{number:06d}")
                self.clients.dynamodb.delete_item(TableName=self.table, Key=key)
        except AWS_ERRORS as exc:
            raise aws_error(f"continue rollout {header.rollout_id}", exc) from exc

    def outcomes(self, rollout_id: str, partner_ids: Iterable[str]) -> dict[str, Outcome]:
        """The recorded outcome of each of these partners that has one."""
        ids = list(dict.fromkeys(partner_ids))
        found: dict[str, Outcome] = {}
        for start in range(0, len(ids), 100):  # BatchGetItem takes 100 keys
            keys = [self._key(rollout_id, RESULT + pid) for pid in ids[start : start + 100]]
            request: Any = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                try:
                    answer = self.clients.dynamodb.batch_get_item(RequestItems=request)
                except AWS_ERRORS as exc:
                    raise aws_error(f"read the results of rollout {rollout_id}", exc) from exc
                for item in answer.get("Responses", {}).get(self.table, []):
                    found[item["item"]["S"].removeprefix(RESULT)] = Outcome(item["outcome"]["S"])
                request = answer.get("UnprocessedKeys") or None
        return found

    def record(self, rollout_id: str, result: PartnerResult) -> bool:
        """Write a partner's result unless one is there already that is not a failure (a chunk delivered
        twice never records a partner twice); False when it was not written."""
        item = {
            **self._key(rollout_id, RESULT + result.partner_id),
            "outcome": {"S": result.outcome.value},
            "doc": {"S": result.model_dump_json(exclude={"ok"})},
        }
        try:
            self.clients.dynamodb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(#item) OR #outcome = :failed",
                ExpressionAttributeNames={"#item": "item", "#outcome": "outcome"},
                ExpressionAttributeValues={":failed": {"S": Outcome.FAILED.value}},
            )
        except AWS_ERRORS as exc:
            if has_code(exc, "ConditionalCheckFailedException"):
                return False
            raise aws_error(f"record a result of rollout {rollout_id}", exc) from exc
        return True

    def counts(self, rollout_id: str) -> dict[str, int]:
        """How many partners have each outcome: one pass over the results, reading only the outcome
        (at 10,000 partners about 3 MB of items, a few 1 MB pages)."""
        counts = dict.fromkeys(COUNTS, 0)
        extra: dict[str, Any] = {"ProjectionExpression": "#outcome"}
        while True:
            items, last = self._query(rollout_id, RESULT, extra, names={"#outcome": "outcome"})
            for item in items:
                counts[item["outcome"]["S"]] += 1
            if last is None:
                return counts
            extra["ExclusiveStartKey"] = last

    def _query(
        self,
        rollout_id: str,
        prefix: str,
        extra: dict[str, Any],
        only: Outcome | None = None,
        names: dict[str, str] | None = None,
    ) -> tuple[list[Any], Any]:
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "rollout_id = :id AND begins_with(#item, :prefix)",
            "ExpressionAttributeNames": {"#item": "item", **(names or {})},
            "ExpressionAttributeValues": {":id": {"S": rollout_id}, ":prefix": {"S": prefix}},
            **extra,
        }
        if only is not None:
            query["FilterExpression"] = "#outcome = :only"
            query["ExpressionAttributeNames"]["#outcome"] = "outcome"
            query["ExpressionAttributeValues"][":only"] = {"S": only.value}
        try:
            answer = self.clients.dynamodb.query(**query)
        except AWS_ERRORS as exc:
            raise aws_error(f"read rollout {rollout_id}", exc) from exc
        return answer.get("Items", []), answer.get("LastEvaluatedKey")

    def result(self, rollout_id: str, partner_id: str) -> PartnerResult | None:
        try:
            found = self.clients.dynamodb.get_item(
                TableName=self.table, Key=self._key(rollout_id, RESULT + partner_id), ConsistentRead=True
            )
        except AWS_ERRORS as exc:
            raise aws_error(f"read a result of rollout {rollout_id}", exc) from exc
        item = found.get("Item")
        return None if item is None else PartnerResult.model_validate(json.loads(item["doc"]["S"]))

    def page(
        self, rollout_id: str, limit: int, cursor: str | None, only: Outcome | None
    ) -> tuple[list[PartnerResult], str | None]:
        """Up to ``limit`` results by partner id after ``cursor`` (a partner id), and the next cursor."""
        extra: dict[str, Any] = {"Limit": limit}
        if cursor:
            extra["ExclusiveStartKey"] = self._key(rollout_id, RESULT + cursor)
        items, last = self._query(rollout_id, RESULT, extra, only)
        results = [PartnerResult.model_validate(json.loads(i["doc"]["S"])) for i in items]
        return results, last["item"]["S"].removeprefix(RESULT) if last else None


def status(header: Header, counts: dict[str, int]) -> Status:
    processed = sum(counts.values())
    if processed >= header.total:
        return "done"
    if header.held and processed >= header.total - header.held:
        return "canary"
    return "running"


def state(
    header: Header, counts: dict[str, int], results: list[PartnerResult], cursor: str | None
) -> RolloutState:
    return RolloutState(
        **header.model_dump(
            include={"rollout_id", "code_key", "total", "canary", "rollback_of", "created_at"}
        ),
        status=status(header, counts),
        **counts,
        results=results,
        next_cursor=cursor,
    )
