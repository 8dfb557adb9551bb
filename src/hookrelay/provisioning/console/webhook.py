"""One webhook's attempts, for its detail page: one Query of the partner's attempt log, newest first,
keeping the items whose sort key (``<time>#<webhook id>#<attempt>``) names the webhook, over at most
:data:`SEARCHED` of the partner's latest attempts (bounded: a webhook older than that shows none).

The payload is not in the attempt log: it joins this page with issue 14's message store.
"""

from __future__ import annotations

import re
from typing import Any

from hookrelay.attempts.log import AttemptLog
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.errors import InvalidInput
from hookrelay.models import WEBHOOK_ID_PATTERN, AttemptRecord

SEARCHED = 1000


def check_webhook_id(webhook_id: str) -> str:
    if not re.fullmatch(WEBHOOK_ID_PATTERN, webhook_id):
        raise InvalidInput("a webhook id is 1-128 of A-Z, a-z, 0-9 and _.:-")
    return webhook_id


def webhook_attempts(log: AttemptLog, partner_id: str, webhook_id: str) -> list[AttemptRecord]:
    """The webhook's attempts among the partner's latest :data:`SEARCHED`, newest first."""
    query: dict[str, Any] = {
        "TableName": log.table,
        "KeyConditionExpression": "partner_id = :p",
        "FilterExpression": "contains(sort_key, :w)",
        "ExpressionAttributeValues": {
            ":p": {"S": partner_id},
            ":w": {"S": f"#{check_webhook_id(webhook_id)}#"},
        },
        "ScanIndexForward": False,
        "Limit": SEARCHED,
    }
    try:
        response = log.clients.dynamodb.query(**query)
    except AWS_ERRORS as exc:
        raise aws_error(f"read the attempts of {webhook_id}", exc) from exc
    return [AttemptRecord.model_validate_json(i["doc"]["S"]) for i in response.get("Items", [])]
