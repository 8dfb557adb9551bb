"""The last hour of a partner, from its attempt log: success rate and p95 latency (a pure summary)
over one bounded Query (newest first, at most :data:`HOUR_LIMIT` attempts)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from hookrelay.attempts.log import AttemptLog
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.models import AttemptRecord, Outcome

HOUR_LIMIT = 200  # attempts read per partner per view: a busy partner's rate is over its latest 200


class HourStats(BaseModel):
    attempts: int
    delivered: int
    success_rate: float | None  # delivered / attempts; None without attempts
    p95_ms: int | None
    capped: bool = False  # more attempts than were read: the figures are over the latest HOUR_LIMIT


def summarize(records: list[AttemptRecord], capped: bool = False) -> HourStats:
    """Success rate (delivered attempts over all) and the nearest-rank 95th percentile of durations."""
    delivered = sum(1 for r in records if r.outcome is Outcome.DELIVERED)
    durations = sorted(r.duration_ms for r in records if r.duration_ms is not None)
    p95 = durations[math.ceil(0.95 * len(durations)) - 1] if durations else None
    return HourStats(
        attempts=len(records),
        delivered=delivered,
        success_rate=delivered / len(records) if records else None,
        p95_ms=p95,
        capped=capped,
    )


def last_hour(log: AttemptLog, partner_id: str, now: datetime, limit: int = HOUR_LIMIT) -> HourStats:
    """One Query: the partner's attempts since an hour ago (sort keys start with the time)."""
    since = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    query: dict[str, Any] = {
        "TableName": log.table,
        "KeyConditionExpression": "partner_id = :p AND sort_key >= :since",
        "ExpressionAttributeValues": {":p": {"S": partner_id}, ":since": {"S": since}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    try:
        response = log.clients.dynamodb.query(**query)
    except AWS_ERRORS as exc:
        raise aws_error(f"read the last hour of {partner_id}", exc) from exc
    records = [AttemptRecord.model_validate_json(i["doc"]["S"]) for i in response.get("Items", [])]
    return summarize(records, capped="LastEvaluatedKey" in response)
