"""A partner's pacing state, kept as four attributes on its item in the partners table.

``pace_next`` (the next free slot), ``pace_rate`` (the adaptive rate), ``pace_not_before`` (Retry-After)
and ``pace_decreased_at``, epoch seconds as DynamoDB numbers. The partner's document is never read or
written here, and :class:`~hookrelay.partners.table.PartnerRepository` writes only ``doc`` and
``status``, so neither writer loses the other's changes. Every write is conditional on the values read
(optimistic concurrency between the partner's instances) and on the item existing (a deleted partner is
never brought back as a stub). The handler's role may touch only these attributes of its own item
(``provisioning.resources.iam``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hookrelay.aws.clients import client
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.partners.pacing import PaceState

if TYPE_CHECKING:
    from types_boto3_dynamodb import DynamoDBClient

KEY = "partner_id"
FIELDS = {
    "next_free": "pace_next",
    "rate": "pace_rate",
    "not_before": "pace_not_before",
    "decreased_at": "pace_decreased_at",
}
ATTRIBUTES = (KEY, *FIELDS.values())  # everything a handler may read or write on its partner's item


def pace_state_of(item: dict[str, Any]) -> PaceState:
    """The pacing state in a DynamoDB item of the partners table (missing attributes: None)."""
    return PaceState(**{f: float(item[a]["N"]) if a in item else None for f, a in FIELDS.items()})


def _number(value: float) -> dict[str, str]:
    return {"N": repr(value)}


class PaceStore:
    """Reads and conditionally writes one partner's pacing attributes."""

    def __init__(self, table: str, partner_id: str, dynamodb: DynamoDBClient | None = None) -> None:
        self.table = table
        self.partner_id = partner_id
        self._dynamodb = dynamodb

    @property
    def dynamodb(self) -> DynamoDBClient:
        return self._dynamodb or client("dynamodb")

    def read(self) -> PaceState:
        """The state as stored now (a strongly consistent read of the four attributes only)."""
        try:
            item = self.dynamodb.get_item(
                TableName=self.table,
                Key={KEY: {"S": self.partner_id}},
                ConsistentRead=True,
                ProjectionExpression=", ".join(FIELDS.values()),
            ).get("Item", {})
        except AWS_ERRORS as exc:
            raise aws_error(f"read the pacing state of {self.partner_id}", exc) from exc
        return pace_state_of(item)

    def claim(self, seen: PaceState, next_free: float) -> bool:
        """Move the next free slot from what was read to ``next_free``; False if another instance moved
        it (or the adaptive limits) meanwhile."""
        return self._write(seen, {"next_free": next_free}, ("next_free", "rate", "not_before"))

    def set_rate(self, seen: PaceState, rate: float, decreased_at: float | None = None) -> bool:
        """Set the adaptive rate (and, on a decrease, when); False if it changed since it was read."""
        values = {"rate": rate} if decreased_at is None else {"rate": rate, "decreased_at": decreased_at}
        return self._write(seen, values, ("rate", "decreased_at"))

    def push_not_before(self, until: float) -> None:
        """No request before ``until`` (a Retry-After); a later one already stored stays."""
        attribute = FIELDS["not_before"]
        self._update(
            f"SET {attribute} = :until",
            f"attribute_exists({KEY}) AND (attribute_not_exists({attribute}) OR {attribute} < :until)",
            {":until": _number(until)},
        )

    def _write(self, seen: PaceState, values: dict[str, float], guard: tuple[str, ...]) -> bool:
        names = {f: FIELDS[f] for f in (*values, *guard)}
        sets = ", ".join(f"{names[f]} = :new_{f}" for f in values)
        conditions = [f"attribute_exists({KEY})"]
        bound: dict[str, Any] = {f":new_{f}": _number(v) for f, v in values.items()}
        for f in guard:
            old = getattr(seen, f)
            if old is None:
                conditions.append(f"attribute_not_exists({names[f]})")
            else:
                conditions.append(f"{names[f]} = :old_{f}")
                bound[f":old_{f}"] = _number(old)
        return self._update(f"SET {sets}", " AND ".join(conditions), bound)

    def _update(self, expression: str, condition: str, values: dict[str, Any]) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={KEY: {"S": self.partner_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except AWS_ERRORS as exc:
            if has_code(exc, "ConditionalCheckFailedException"):
                return False
            raise aws_error(f"write the pacing state of {self.partner_id}", exc) from exc
        return True
