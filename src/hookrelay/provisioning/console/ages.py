"""The age of each queue's oldest message, for a page of partners: ONE CloudWatch GetMetricData call
(SQS's ``ApproximateAgeOfOldestMessage``, the latest minute reported in the last 15), never one per
partner. SQS reports it every minute and CloudWatch shows it minutes late, so it is "as of a few minutes
ago". A failed read (throttled, not allowed) leaves the column empty and the page whole: it is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_message
from hookrelay.partners.ordering import queue_name

if TYPE_CHECKING:
    from types_boto3_cloudwatch.type_defs import MetricDataQueryTypeDef

logger = logging.getLogger(__name__)
WINDOW = timedelta(minutes=15)


def oldest_ages(
    stage: str,
    partner_ids: Sequence[str],
    now: datetime,
    clients: Clients,
    orderings: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Seconds, by partner id, of those partners CloudWatch has a recent figure for (at most 500);
    ``orderings``: the partners whose queue is not a standard one (an ordered partner's is ``.fifo``)."""
    orderings = orderings or {}
    if not partner_ids:
        return {}
    queries: list[MetricDataQueryTypeDef] = [
        {
            "Id": f"q{i}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateAgeOfOldestMessage",
                    "Dimensions": [
                        {"Name": "QueueName", "Value": queue_name(stage, pid, orderings.get(pid, "none"))}
                    ],
                },
                "Period": 60,
                "Stat": "Maximum",
            },
            "ReturnData": True,
        }
        for i, pid in enumerate(partner_ids[:500])
    ]
    try:
        answer = clients.cloudwatch.get_metric_data(
            MetricDataQueries=queries, StartTime=now - WINDOW, EndTime=now, ScanBy="TimestampDescending"
        )
    except AWS_ERRORS as exc:
        logger.warning("oldest message ages not read", extra={"error": aws_message(exc)})
        return {}
    ages: dict[str, int] = {}
    for result in answer.get("MetricDataResults", []):
        values = result.get("Values", [])
        index = int(result.get("Id", "q-1")[1:])
        if values and 0 <= index < len(partner_ids):
            ages[partner_ids[index]] = int(values[0])
    return ages
