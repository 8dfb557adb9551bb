"""Attempt records as log lines: what a partner's handler writes and what the recorder reads back.

The handler does not send its attempt records anywhere. Each attempt's JSON log line (one per attempt,
as before) carries the whole record at the top level and the mark :data:`~hookrelay.models.ATTEMPT_LINE_MARK`
(``"record": "attempt"``). Lambda writes the line to the function's log group, and a CloudWatch Logs
subscription filter on that group (:data:`FILTER_NAME`, :data:`FILTER_PATTERN`) hands the marked lines to
the stage's recorder. It is the pattern CloudWatch's Embedded Metric Format uses for metrics: a log line
instead of a call, so the handler neither waits on nor pays for a publish. What this module says:

- :class:`LogsBatch`: the decoded ``awslogs`` event a subscription invokes a Lambda function with
  (:func:`decode`; :func:`encode` is the inverse, for the local runtime and tests);
- :func:`records_of`: the attempt records of one batch. A line is believed only for the partner whose
  function wrote it: a record naming another partner than the log group's is dropped (and logged), so a
  compromised handler can forge nothing for another partner.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hookrelay import naming
from hookrelay.errors import InvalidInput
from hookrelay.models import ATTEMPT_LINE_MARK, AttemptRecord

logger = logging.getLogger(__name__)

FILTER_NAME = "hookrelay-attempts"
FILTER_PATTERN = f'{{ $.{ATTEMPT_LINE_MARK[0]} = "{ATTEMPT_LINE_MARK[1]}" }}'
LOG_GROUP_PREFIX = "/aws/lambda/"
DATA_MESSAGE = "DATA_MESSAGE"  # CloudWatch Logs also sends one CONTROL_MESSAGE when a filter is made


class LogEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    timestamp: int
    message: str


class LogsBatch(BaseModel):
    """What a CloudWatch Logs subscription delivers: some lines of one log stream."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_type: str = Field(alias="messageType")
    owner: str = ""
    log_group: str = Field(alias="logGroup")
    log_stream: str = Field(default="", alias="logStream")
    subscription_filters: list[str] = Field(default_factory=list, alias="subscriptionFilters")
    log_events: list[LogEvent] = Field(default_factory=list, alias="logEvents")


def decode(event: Mapping[str, Any]) -> LogsBatch:
    """The batch in a subscription's Lambda event (``{"awslogs": {"data": base64(gzip(json))}}``);
    InvalidInput if it is not one."""
    try:
        data = event["awslogs"]["data"]
        return LogsBatch.model_validate_json(gzip.decompress(base64.b64decode(data, validate=True)))
    except (KeyError, TypeError, ValueError, OSError, EOFError) as exc:  # (ValidationError is a ValueError)
        raise InvalidInput(f"not a CloudWatch Logs subscription event: {type(exc).__name__}") from exc


def encode(batch: LogsBatch) -> dict[str, Any]:
    """The Lambda event CloudWatch Logs would invoke a subscribed function with, for ``batch``."""
    document = batch.model_dump_json(by_alias=True).encode()
    return {"awslogs": {"data": base64.b64encode(gzip.compress(document)).decode()}}


def is_attempt_line(line: Mapping[str, Any]) -> bool:
    """What :data:`FILTER_PATTERN` selects, for a line already parsed as JSON."""
    return line.get(ATTEMPT_LINE_MARK[0]) == ATTEMPT_LINE_MARK[1]


def partner_of_log_group(log_group: str, stage: str) -> str | None:
    """The partner whose handler writes ``log_group`` (``/aws/lambda/hookrelay-<stage>-<partner>``)."""
    if not log_group.startswith(LOG_GROUP_PREFIX):
        return None
    partner = naming.partner_from_name(log_group.removeprefix(LOG_GROUP_PREFIX))
    if partner is None or naming.partner_log_group(stage, partner) != log_group:
        return None
    return partner


def records_of(batch: LogsBatch, stage: str) -> list[AttemptRecord]:
    """The attempt records in ``batch``, each from a marked line of its own partner's log group; a
    control message, an unmarked line, an unreadable one or one naming another partner gives none."""
    if batch.message_type != DATA_MESSAGE:
        return []
    partner = partner_of_log_group(batch.log_group, stage)
    if partner is None:
        logger.error(
            "attempt lines from a log group of no partner dropped", extra={"log_group": batch.log_group}
        )
        return []
    records: list[AttemptRecord] = []
    for event in batch.log_events:
        try:
            line = json.loads(event.message)
            if not isinstance(line, dict) or not is_attempt_line(line):
                continue
            record = AttemptRecord.model_validate(line)
        except (ValueError, ValidationError) as exc:
            logger.error(
                "unreadable attempt line dropped", extra={"log_event": event.id, "error": str(exc)[:500]}
            )
            continue
        if record.partner_id != partner:
            logger.error(
                "attempt line naming another partner dropped",
                extra={"log_group": batch.log_group, "partner_id": record.partner_id},
            )
            continue
        records.append(record)
    return records
