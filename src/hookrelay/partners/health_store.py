"""A partner's health counters (:mod:`hookrelay.partners.health`), kept as attributes on its item in the
partners table.

``health_failures`` (failed attempts in a row), ``health_failing_since`` (the streak's first failure),
``health_last_failure_at``, ``health_last_success_at`` (epoch seconds), ``health_last_error``,
``health_last_status`` and ``health_last_topic`` (the last failed webhook's), ``health_told`` (a failing or
paused notice went out for this streak) and ``health_notice_at`` (when the last failing notice went out:
the per-partner rate limit). The partner's document is never read or written here.

One UpdateItem per partner per results batch, never a read first: failures are *added* (ADD is atomic in
DynamoDB, so two recorders counting at once lose nothing); a batch holding a success *sets* the count to
the failures after it. Every write is conditional on the item existing: a deleted partner is not brought
back as a stub of counters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.partners.health import BatchHealth, Counted, HealthState, error_excerpt

KEY = "partner_id"
NUMBERS = {
    "failures": "health_failures",
    "failing_since": "health_failing_since",
    "last_failure_at": "health_last_failure_at",
    "last_success_at": "health_last_success_at",
    "last_status": "health_last_status",
    "told": "health_told",
    "notice_at": "health_notice_at",
}
STRINGS = {"last_error": "health_last_error", "last_topic": "health_last_topic"}
ATTRIBUTES = (*NUMBERS.values(), *STRINGS.values())


def _epoch(value: datetime) -> dict[str, str]:
    return {"N": repr(value.timestamp())}


def _time(item: dict[str, Any], name: str) -> datetime | None:
    attribute = NUMBERS[name]
    return datetime.fromtimestamp(float(item[attribute]["N"]), UTC) if attribute in item else None


def _document(item: dict[str, Any]) -> str | None:
    value = item.get("doc", {}).get("S")
    return None if value is None else str(value)


def state_of(item: dict[str, Any]) -> HealthState:
    """The counters in a DynamoDB item (missing attributes: nothing counted yet)."""
    status = item.get(NUMBERS["last_status"])
    return HealthState(
        consecutive_failures=int(item.get(NUMBERS["failures"], {}).get("N", "0")),
        failing_since=_time(item, "failing_since"),
        last_failure_at=_time(item, "last_failure_at"),
        last_success_at=_time(item, "last_success_at"),
        last_error=item.get(STRINGS["last_error"], {}).get("S"),
        last_status_code=None if status is None else int(status["N"]),
        last_topic=item.get(STRINGS["last_topic"], {}).get("S"),
        told_at=_time(item, "told"),
        notice_at=_time(item, "notice_at"),
    )


def _failure_values(batch: BatchHealth) -> tuple[list[str], list[str], dict[str, Any]]:
    """SET clauses, REMOVE names and values recording the batch's last failure."""
    last = batch.last_failure
    assert last is not None
    sets = [f"{NUMBERS['last_failure_at']} = :last_failure_at", f"{STRINGS['last_error']} = :last_error"]
    values: dict[str, Any] = {
        ":last_failure_at": _epoch(last.at),
        ":last_error": {"S": error_excerpt(last)},
    }
    removes = []
    for name, value in (("last_topic", last.topic), ("last_status", last.status_code)):
        attribute = STRINGS.get(name) or NUMBERS[name]
        if value is None:
            removes.append(attribute)
        else:
            sets.append(f"{attribute} = :{name}")
            values[f":{name}"] = {"S": value} if isinstance(value, str) else {"N": str(value)}
    return sets, removes, values


class HealthStore:
    """The health counters of a stage's partners (one table, conditional writes only)."""

    def __init__(self, table: str, clients: Clients) -> None:
        self.table = table
        self.clients = clients

    def count(self, batch: BatchHealth) -> Counted | None:
        """Count one batch of a partner (None if the partner is gone).

        Failures only: one atomic ADD (returns the item after it). A success: the count is *set* to the
        failures after it, the notice flag removed (returns the item before, from which ``after`` follows:
        every attribute it writes is a SET)."""
        if batch.succeeded_at is None:
            sets, removes, values = _failure_values(batch)
            assert batch.first_failure_at is not None
            since = NUMBERS["failing_since"]
            sets.append(f"{since} = if_not_exists({since}, :first_failure_at)")
            values |= {":n": {"N": str(batch.failures)}, ":first_failure_at": _epoch(batch.first_failure_at)}
            expression = f"ADD {NUMBERS['failures']} :n SET {', '.join(sets)}"
            if removes:
                expression += f" REMOVE {', '.join(removes)}"
            item = self._update(batch.partner_id, expression, values, "ALL_NEW")
            if item is None:
                return None
            after = state_of(item)
            earlier = after.consecutive_failures - batch.failures
            before = after.model_copy(update={"consecutive_failures": earlier})
            return Counted(before, after, _document(item))
        sets = [f"{NUMBERS['failures']} = :n", f"{NUMBERS['last_success_at']} = :success"]
        values = {":n": {"N": str(batch.failures)}, ":success": _epoch(batch.succeeded_at)}
        removes = [NUMBERS["told"]]
        if batch.failures:
            more_sets, more_removes, more_values = _failure_values(batch)
            assert batch.first_failure_at is not None
            sets += [*more_sets, f"{NUMBERS['failing_since']} = :first_failure_at"]
            values |= more_values | {":first_failure_at": _epoch(batch.first_failure_at)}
            removes += more_removes
        else:
            removes.append(NUMBERS["failing_since"])
        expression = f"SET {', '.join(sets)} REMOVE {', '.join(removes)}"
        old = self._update(batch.partner_id, expression, values, "ALL_OLD")
        if old is None:
            return None
        before = state_of(old)
        changes: dict[str, Any] = {
            "consecutive_failures": batch.failures,
            "last_success_at": batch.succeeded_at,
            "told_at": None,
            "failing_since": batch.first_failure_at,
        }
        if batch.last_failure is not None:
            last = batch.last_failure
            changes |= {
                "last_failure_at": last.at,
                "last_error": error_excerpt(last),
                "last_status_code": last.status_code,
                "last_topic": last.topic,
            }
        return Counted(before, before.model_copy(update=changes), _document(old))

    def read(self, partner_id: str) -> HealthState:
        """The counters as stored now (one strongly consistent, projected read)."""
        try:
            item = self.clients.dynamodb.get_item(
                TableName=self.table,
                Key={KEY: {"S": partner_id}},
                ConsistentRead=True,
                ProjectionExpression=", ".join(ATTRIBUTES),
            ).get("Item", {})
        except AWS_ERRORS as exc:
            raise aws_error(f"read the health of {partner_id}", exc) from exc
        return state_of(item)

    def claim_failing_notice(self, partner_id: str, now: datetime, every_seconds: float) -> bool:
        """Take the right to send a failing notice: none went out for this streak, and none in the last
        ``every_seconds`` (the per-partner rate limit). Only one recorder wins it."""
        told, notice_at = NUMBERS["told"], NUMBERS["notice_at"]
        condition = (
            f"attribute_exists({KEY}) AND attribute_not_exists({told}) AND "
            f"(attribute_not_exists({notice_at}) OR {notice_at} <= :cutoff)"
        )
        values = {":now": _epoch(now), ":cutoff": {"N": repr(now.timestamp() - every_seconds)}}
        expression = f"SET {told} = :now, {notice_at} = :now"
        return self._update(partner_id, expression, values, "NONE", condition) is not None

    def release_failing_notice(self, partner_id: str) -> None:
        """Give back a claimed failing notice that could not be published."""
        self._update(partner_id, f"REMOVE {NUMBERS['told']}, {NUMBERS['notice_at']}", {}, "NONE")

    def mark_told(self, partner_id: str, now: datetime) -> None:
        """A notice went out for this streak (a pause): its recovery is told too."""
        self._update(partner_id, f"SET {NUMBERS['told']} = :now", {":now": _epoch(now)}, "NONE")

    def restart(self, partner_id: str) -> None:
        """A resumed partner starts a fresh streak (the notice flag stays: its recovery is told)."""
        expression = f"SET {NUMBERS['failures']} = :zero REMOVE {NUMBERS['failing_since']}"
        self._update(partner_id, expression, {":zero": {"N": "0"}}, "NONE")

    def _update(
        self,
        partner_id: str,
        expression: str,
        values: dict[str, Any],
        returns: str,
        condition: str = f"attribute_exists({KEY})",
    ) -> dict[str, Any] | None:
        """The item (as ``returns`` asks; {} for NONE), or None when the condition failed."""
        try:
            request: dict[str, Any] = {
                "TableName": self.table,
                "Key": {KEY: {"S": partner_id}},
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ReturnValues": returns,
            }
            if values:  # DynamoDB refuses an empty ExpressionAttributeValues
                request["ExpressionAttributeValues"] = values
            response = self.clients.dynamodb.update_item(**request)
        except AWS_ERRORS as exc:
            if has_code(exc, "ConditionalCheckFailedException"):
                return None
            raise aws_error(f"count the health of {partner_id}", exc) from exc
        return dict(response.get("Attributes", {}))
