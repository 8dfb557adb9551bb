"""Every DynamoDB table hookrelay makes, made one way: on-demand billing, tagged with the project,
waited for, and (asked for) expiring items through TTL on ``expires_at``. Idempotent: a table that exists
is left as it is (False), so a deploy, the local bootstrap and a test stage may all call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code

if TYPE_CHECKING:
    from types_boto3_dynamodb.literals import ScalarAttributeTypeType

TTL_ATTRIBUTE = "expires_at"
Key = Sequence[tuple[str, "ScalarAttributeTypeType"]]  # (hash) or (hash, range): names and types


@dataclass(frozen=True)
class Index:
    """A global secondary index: its key and what it projects besides (None: everything)."""

    name: str
    key: Key
    attributes: tuple[str, ...] | None = None


def key_schema(key: Key) -> list[Any]:
    return [
        {"AttributeName": n, "KeyType": kind} for (n, _), kind in zip(key, ("HASH", "RANGE"), strict=False)
    ]


def ensure_table(
    name: str, key: Key, clients: Clients, *, indexes: Sequence[Index] = (), ttl: bool = False
) -> bool:
    """Create table ``name`` if it is missing and wait until it exists; True when it was made here."""
    defined = {n: t for n, t in [*key, *(pair for index in indexes for pair in index.key)]}
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": key_schema(key),
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in defined.items()],
        "BillingMode": "PAY_PER_REQUEST",
        "Tags": [{"Key": "project", "Value": naming.PROJECT}],
    }
    if indexes:
        request["GlobalSecondaryIndexes"] = [_index(index) for index in indexes]
    try:
        clients.dynamodb.create_table(**request)
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceInUseException"):
            return False
        raise aws_error(f"create table {name}", exc) from exc
    clients.dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    if ttl:
        try:
            clients.dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
            )
        except AWS_ERRORS as exc:
            raise aws_error(f"set the TTL of {name}", exc) from exc
    return True


def _index(index: Index) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": "ALL"}
    if index.attributes is not None:
        projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(index.attributes)}
    return {"IndexName": index.name, "KeySchema": key_schema(index.key), "Projection": projection}
