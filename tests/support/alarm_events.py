"""Sample CloudWatch alarm notifications (tests/events/alarm_*.json) and a Block Kit checker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slack_sdk.models.attachments import BlockAttachment
from slack_sdk.models.blocks import Block

from hookrelay.alarms.notification import AlarmNotification, parse_notification

EVENTS = Path(__file__).resolve().parent.parent / "events"

SINGLE_METRIC = "alarm_single_metric_oldest_message_age"
DLQ_OK_CHINA = "alarm_single_metric_dlq_depth_ok_china"
METRIC_MATH = "alarm_metric_math_dlq_depth"
LAMBDA_ERRORS = "alarm_single_metric_lambda_errors"
ANOMALY = "alarm_anomaly_detection_duration"
COMPOSITE = "alarm_composite_partner_degraded"
INSUFFICIENT_GOVCLOUD = "alarm_insufficient_data_govcloud"
STAGE_CONTRIBUTOR = "alarm_metrics_insights_contributor_dlq_depth"
STAGE_ALARM = "alarm_metrics_insights_stage_lambda_errors"
COMPOSITE_RULE = 'ALARM("hookrelay-dev-acme-dlq-depth") AND ALARM("hookrelay-dev-acme-lambda-errors")'
ALL = (
    SINGLE_METRIC,
    DLQ_OK_CHINA,
    METRIC_MATH,
    LAMBDA_ERRORS,
    ANOMALY,
    COMPOSITE,
    INSUFFICIENT_GOVCLOUD,
    STAGE_CONTRIBUTOR,
    STAGE_ALARM,
)


def raw(name: str) -> str:
    return (EVENTS / f"{name}.json").read_text()


def alarm(name: str) -> AlarmNotification:
    return parse_notification(raw(name))


def assert_valid_block_kit(payload: dict[str, Any]) -> None:
    """Every block parses back into slack-sdk's models, validates, and loses nothing on the way."""
    assert isinstance(payload["text"], str)
    assert payload["text"]
    for attachment in payload.get("attachments", []):
        blocks = [Block.parse(b) for b in attachment["blocks"]]
        assert all(b is not None for b in blocks)
        assert [b.to_dict() for b in blocks if b is not None] == attachment["blocks"]
        rebuilt = BlockAttachment(blocks=blocks, color=attachment["color"], fallback=attachment["fallback"])
        assert rebuilt.to_dict() == attachment
    json.dumps(payload)
