"""Replays in DynamoDB (``hookrelay-<stage>-replays``): one item per replay, key (partner, replay id).

The item holds the request and ``matched`` (``doc``), the progress (``enqueued``, ``state``,
``finished_at``) and the chain of steps: ``next_step`` (the step number still to run), ``next_cursor``
(where it reads from) and ``continued`` (the highest step whose work message was sent). A step advances
the item only if ``next_step`` is still its number, so a step delivered twice counts its webhooks once.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import NotFound
from hookrelay.provisioning.messages.model import ReplayState

KEEP_REPLAYS = timedelta(days=30)
REPLAY_ID_PATTERN = r"^rp_[0-9]{14}[A-Za-z0-9]{8}$"


def new_replay_id(now: datetime) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return f"rp_{now.strftime('%Y%m%d%H%M%S')}{''.join(secrets.choice(alphabet) for _ in range(8))}"


class Chain:
    """Where a replay's chain of steps stands."""

    def __init__(self, next_step: int, next_cursor: dict[str, Any] | None, continued: int) -> None:
        self.next_step, self.next_cursor, self.continued = next_step, next_cursor, continued


class ReplayStore:
    def __init__(self, stage: str, clients: Clients) -> None:
        self.table, self.clients = naming.replays_table(stage), clients

    def _key(self, partner_id: str, replay_id: str) -> dict[str, Any]:
        return {"partner_id": {"S": partner_id}, "replay_id": {"S": replay_id}}

    def create(self, state: ReplayState) -> None:
        item = {
            **self._key(state.partner_id, state.replay_id),
            "doc": {"S": state.model_dump_json(include=_STATIC)},
            "enqueued": {"N": "0"},
            "state": {"S": state.state},
            "next_step": {"N": "0"},
            "continued": {"N": "0"},
            "expires_at": {"N": str(int((state.started_at + KEEP_REPLAYS).timestamp()))},
        }
        if state.finished_at is not None:
            item["finished_at"] = {"S": state.finished_at.isoformat()}
        try:
            self.clients.dynamodb.put_item(TableName=self.table, Item=item)
        except AWS_ERRORS as exc:
            raise aws_error(f"record replay {state.replay_id}", exc) from exc

    def _item(self, partner_id: str, replay_id: str) -> dict[str, Any]:
        try:
            found = self.clients.dynamodb.get_item(
                TableName=self.table, Key=self._key(partner_id, replay_id), ConsistentRead=True
            )
        except AWS_ERRORS as exc:
            raise aws_error(f"read replay {replay_id}", exc) from exc
        item = found.get("Item")
        if item is None:
            raise NotFound(f"partner {partner_id!r} has no replay {replay_id!r}")
        return item

    def state(self, partner_id: str, replay_id: str) -> ReplayState:
        return _state(self._item(partner_id, replay_id))

    def chain(self, partner_id: str, replay_id: str) -> tuple[ReplayState, Chain]:
        item = self._item(partner_id, replay_id)
        cursor = item.get("next_cursor", {}).get("S")
        chain = Chain(
            int(item["next_step"]["N"]), json.loads(cursor) if cursor else None, int(item["continued"]["N"])
        )
        return _state(item), chain

    def advance(
        self,
        partner_id: str,
        replay_id: str,
        step: int,
        enqueued: int,
        cursor: dict[str, Any] | None,
        now: datetime,
    ) -> bool:
        """Record step ``step`` done (``enqueued`` more sent; ``cursor`` None: the replay is done); False
        when another delivery of the step recorded it first."""
        values: dict[str, Any] = {":step": {"N": str(step)}, ":next": {"N": str(step + 1)}}
        values[":n"] = {"N": str(enqueued)}
        if cursor is None:
            update = "SET next_step = :next, #state = :done, finished_at = :at REMOVE next_cursor"
            update += " ADD enqueued :n"
            values[":done"], values[":at"] = {"S": "done"}, {"S": now.isoformat()}
        else:
            update = "SET next_step = :next, next_cursor = :cursor ADD enqueued :n"
            values[":cursor"] = {"S": json.dumps(cursor)}
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(partner_id, replay_id),
            "UpdateExpression": update,
            "ConditionExpression": "next_step = :step",
            "ExpressionAttributeValues": values,
        }
        if cursor is None:
            request["ExpressionAttributeNames"] = {"#state": "state"}
        try:
            self.clients.dynamodb.update_item(**request)
        except AWS_ERRORS as exc:
            if has_code(exc, "ConditionalCheckFailedException"):
                return False
            raise aws_error(f"record a step of replay {replay_id}", exc) from exc
        return True

    def continued(self, partner_id: str, replay_id: str, step: int) -> None:
        """Step ``step``'s work message is sent (a redelivered earlier step need not send it again)."""
        try:
            self.clients.dynamodb.update_item(
                TableName=self.table,
                Key=self._key(partner_id, replay_id),
                UpdateExpression="SET continued = :step",
                ConditionExpression="continued < :step",
                ExpressionAttributeValues={":step": {"N": str(step)}},
            )
        except AWS_ERRORS as exc:
            if has_code(exc, "ConditionalCheckFailedException"):
                return
            raise aws_error(f"record a step of replay {replay_id}", exc) from exc


_STATIC = {"replay_id", "partner_id", "since", "until", "only_failed", "matched", "started_at"}


def _state(item: dict[str, Any]) -> ReplayState:
    static = json.loads(item["doc"]["S"])
    return ReplayState.model_validate(
        {
            **static,
            "enqueued": int(item["enqueued"]["N"]),
            "state": item["state"]["S"],
            "finished_at": item.get("finished_at", {}).get("S"),
        }
    )
