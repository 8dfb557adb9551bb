"""The last few error lines of a handler Lambda, to show next to its error alarm.

``filter_log_events`` over the function's log group, bounded three ways: a time window ending just
after the alarm changed state (the alarm's own evaluation window, clamped), a page budget, and a
line count (the newest ``max_lines`` win; the message builder shortens each line). The server-side
filter pattern narrows what AWS returns; :func:`is_error_line` decides, so the result is the same on
moto (which ignores ``?`` patterns). Reading logs is best effort: a failure raises
DependencyUnavailable and the caller posts without them.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from hookrelay.alarms.notification import AlarmNotification
from hookrelay.aws import clients as aws
from hookrelay.aws.errors import AWS_ERRORS, aws_error

if TYPE_CHECKING:
    from types_boto3_logs import CloudWatchLogsClient
    from types_boto3_logs.type_defs import FilterLogEventsRequestTypeDef

logger = logging.getLogger(__name__)

# Terms of a Lambda error line: our JSON logs ("level":"ERROR"), tracebacks, runtime failures.
ERROR_TERMS = ("ERROR", "Traceback", "Task timed out", "Runtime exited", "Exception")
FILTER_PATTERN = " ".join(f'?"{term}"' for term in ERROR_TERMS)
MIN_WINDOW = timedelta(minutes=5)
MAX_WINDOW = timedelta(hours=1)
AFTER_STATE_CHANGE = timedelta(minutes=1)


class LogLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    timestamp_ms: int
    stream: str
    message: str


def is_error_line(message: str) -> bool:
    return any(term in message for term in ERROR_TERMS)


def window(alarm: AlarmNotification) -> tuple[datetime, datetime]:
    """From one evaluation window (clamped to 5 min..1 h) before the state change to 1 min after."""
    trigger = alarm.trigger
    seconds = (trigger.period or 0) * (trigger.evaluation_periods or 1) if trigger else 0
    span = min(max(timedelta(seconds=seconds), MIN_WINDOW), MAX_WINDOW)
    return alarm.state_change_time - span, alarm.state_change_time + AFTER_STATE_CHANGE


def recent_error_lines(
    log_group: str,
    start: datetime,
    end: datetime,
    *,
    max_lines: int = 5,
    max_pages: int = 3,
    logs: CloudWatchLogsClient | None = None,
) -> list[LogLine]:
    """The newest ``max_lines`` error lines of ``log_group`` between ``start`` and ``end``, oldest first."""
    client = logs or aws.client("logs")
    kwargs: FilterLogEventsRequestTypeDef = {
        "logGroupName": log_group,
        "startTime": int(start.timestamp() * 1000),
        "endTime": int(end.timestamp() * 1000),
        "filterPattern": FILTER_PATTERN,
        "limit": 100,
    }
    newest: deque[LogLine] = deque(maxlen=max_lines)
    for _ in range(max_pages):
        try:
            page = client.filter_log_events(**kwargs)
        except AWS_ERRORS as exc:
            raise aws_error(f"read {log_group}", exc) from exc
        for event in page.get("events", []):
            message = str(event.get("message", "")).strip()
            if is_error_line(message):
                newest.append(
                    LogLine(
                        timestamp_ms=int(event.get("timestamp", 0)),
                        stream=str(event.get("logStreamName", "")),
                        message=message,
                    )
                )
        token = page.get("nextToken")
        if not token:
            break
        kwargs["nextToken"] = token
    return sorted(newest, key=lambda line: line.timestamp_ms)
