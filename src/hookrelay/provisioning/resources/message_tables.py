"""The message store's resources: the ``messages`` and ``replays`` tables, the replay work queue (with its
DLQ), and the deliveries table's ``by-webhook`` index (a webhook's attempts in one Query).

``messages``: key (``partner_id``, ``webhook_id``) serves GET and resend; the index :data:`BY_TIME`
(``partner_id``, ``created``: ``<time>#<webhook id>``) serves replay's range reads and counts. It projects
only the keys plus ``delivered_at`` and ``expires_at``, so counting ``only_failed`` webhooks reads no body.
Both tables expire items through DynamoDB TTL on ``expires_at``. Idempotent: :func:`ensure_shared` calls
:func:`ensure_message_resources` on every deploy, local bootstrap and test stage.
"""

from __future__ import annotations

from typing import Any

from hookrelay import naming
from hookrelay.attempts.log import BY_WEBHOOK
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.provisioning.resources.queues import ensure_queues

BY_TIME = "by-time"
TTL_ATTRIBUTE = "expires_at"
REPLAY_VISIBILITY_SECONDS = 360  # six times the worker's 60 s timeout
REPLAY_MAX_RECEIVES = 5  # a step that fails five times waits in the replay queue's DLQ


def _create(clients: Clients, request: dict[str, Any]) -> None:
    name = request["TableName"]
    try:
        clients.dynamodb.create_table(
            **request, BillingMode="PAY_PER_REQUEST", Tags=[{"Key": "project", "Value": naming.PROJECT}]
        )
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceInUseException"):
            return
        raise aws_error(f"create table {name}", exc) from exc
    clients.dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    clients.dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )


def _keys(hash_key: str, range_key: str) -> list[Any]:
    return [{"AttributeName": hash_key, "KeyType": "HASH"}, {"AttributeName": range_key, "KeyType": "RANGE"}]


def ensure_message_resources(stage: str, clients: Clients) -> str:
    """Create what is missing; return the replay queue's URL."""
    strings = ("partner_id", "webhook_id", "created")
    _create(
        clients,
        {
            "TableName": naming.messages_table(stage),
            "KeySchema": _keys("partner_id", "webhook_id"),
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in strings],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": BY_TIME,
                    "KeySchema": _keys("partner_id", "created"),
                    "Projection": {
                        "ProjectionType": "INCLUDE",
                        "NonKeyAttributes": ["delivered_at", TTL_ATTRIBUTE],
                    },
                }
            ],
        },
    )
    _create(
        clients,
        {
            "TableName": naming.replays_table(stage),
            "KeySchema": _keys("partner_id", "replay_id"),
            "AttributeDefinitions": [
                {"AttributeName": n, "AttributeType": "S"} for n in ("partner_id", "replay_id")
            ],
        },
    )
    ensure_webhook_index(stage, clients)
    queue = naming.replay_queue(stage)
    pair = ensure_queues(
        queue,
        f"{queue}-dlq",
        REPLAY_VISIBILITY_SECONDS,
        REPLAY_MAX_RECEIVES,
        {"project": naming.PROJECT},
        clients,
    )
    return pair.url


def ensure_webhook_index(stage: str, clients: Clients) -> None:
    """Add the deliveries table's ``by-webhook`` index if it lacks it (a table made before the store;
    attempts recorded before the index have no ``webhook_key`` and do not appear in it)."""
    table = naming.deliveries_table(stage)
    try:
        described = clients.dynamodb.describe_table(TableName=table)["Table"]
        if any(i["IndexName"] == BY_WEBHOOK for i in described.get("GlobalSecondaryIndexes", [])):
            return
        clients.dynamodb.update_table(
            TableName=table,
            AttributeDefinitions=[
                {"AttributeName": "partner_id", "AttributeType": "S"},
                {"AttributeName": "webhook_key", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": BY_WEBHOOK,
                        "KeySchema": _keys("partner_id", "webhook_key"),
                        "Projection": {"ProjectionType": "ALL"},
                    }
                }
            ],
        )
    except AWS_ERRORS as exc:
        raise aws_error(f"add the {BY_WEBHOOK} index to {table}", exc) from exc
