"""The events feed's subscription index table, made bare (no partners table, no alarms) for tests and the
fan-out benchmark, with the key ``hookrelay.provisioning.resources.event_feed`` gives it."""

from __future__ import annotations

from typing import Any

from hookrelay import naming


def create_subscription_table(dynamodb: Any, stage: str) -> None:
    dynamodb.create_table(
        TableName=naming.subscriptions_table(stage),
        KeySchema=[
            {"AttributeName": "pattern", "KeyType": "HASH"},
            {"AttributeName": "partner_id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pattern", "AttributeType": "S"},
            {"AttributeName": "partner_id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
