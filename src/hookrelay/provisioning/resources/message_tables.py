"""The message store's resources: the ``messages`` and ``replays`` tables, the replay work queue (with its
DLQ), and the deliveries table's ``by-webhook`` index (a webhook's attempts in one Query).

``messages``: key (``partner_id``, ``webhook_id``) serves GET and resend; the index :data:`BY_TIME`
(``partner_id``, ``created``: ``<time>#<webhook id>``) serves replay's range reads and counts. It projects
only the keys plus ``delivered_at`` and ``expires_at``, so counting ``only_failed`` webhooks reads no body.
Both tables expire items through DynamoDB TTL on ``expires_at``. Idempotent: :func:`ensure_shared` calls
:func:`ensure_message_resources` on every deploy, local bootstrap and test stage.
"""

from __future__ import annotations

from hookrelay import naming
from hookrelay.attempts.log import BY_WEBHOOK
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.provisioning.resources.queues import ensure_queues
from hookrelay.provisioning.resources.tables import TTL_ATTRIBUTE, Index, Key, ensure_table, key_schema

BY_TIME = "by-time"
REPLAY_VISIBILITY_SECONDS = 360  # six times the worker's 60 s timeout
REPLAY_MAX_RECEIVES = 5  # a step that fails five times waits in the replay queue's DLQ


def ensure_message_resources(stage: str, clients: Clients) -> str:
    """Create what is missing; return the replay queue's URL."""
    by_time = Index(BY_TIME, [("partner_id", "S"), ("created", "S")], ("delivered_at", TTL_ATTRIBUTE))
    key: Key = [("partner_id", "S"), ("webhook_id", "S")]
    ensure_table(naming.messages_table(stage), key, clients, indexes=[by_time], ttl=True)
    ensure_table(naming.replays_table(stage), [("partner_id", "S"), ("replay_id", "S")], clients, ttl=True)
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
                        "KeySchema": key_schema([("partner_id", "S"), ("webhook_key", "S")]),
                        "Projection": {"ProjectionType": "ALL"},
                    }
                }
            ],
        )
    except AWS_ERRORS as exc:
        raise aws_error(f"add the {BY_WEBHOOK} index to {table}", exc) from exc
