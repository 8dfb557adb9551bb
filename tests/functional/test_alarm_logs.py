"""Recent error lines of a partner's handler Lambda, read from CloudWatch Logs (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from hookrelay.alarms.logs import recent_error_lines, window
from hookrelay.errors import DependencyUnavailable
from tests.support import alarm_events as ev

LOG_GROUP = "/aws/lambda/hookrelay-dev-acme"


@pytest.fixture
def logs(moto_aws: None) -> Any:
    client = boto3.client("logs", region_name="us-east-1")
    client.create_log_group(logGroupName=LOG_GROUP)
    client.create_log_stream(logGroupName=LOG_GROUP, logStreamName="2026/11/23/[$LATEST]abc")
    return client


def put(logs: Any, at: datetime, *messages: str) -> None:
    events = [
        {"timestamp": int((at + timedelta(milliseconds=i)).timestamp() * 1000), "message": m}
        for i, m in enumerate(messages)
    ]
    logs.put_log_events(logGroupName=LOG_GROUP, logStreamName="2026/11/23/[$LATEST]abc", logEvents=events)


def test_only_error_lines_within_the_window_newest_last(logs: Any) -> None:
    """GIVEN info and error lines, some too old WHEN read THEN the in-window error lines, oldest first."""
    now = datetime.now(UTC).replace(microsecond=0)
    put(logs, now - timedelta(minutes=30), '{"level":"ERROR","message":"too old"}')
    put(
        logs,
        now - timedelta(minutes=2),
        '{"level":"INFO","message":"delivered"}',
        '{"level":"ERROR","message":"cannot read signing secret"}',
        "Task timed out after 60.00 seconds",
    )
    lines = recent_error_lines(LOG_GROUP, now - timedelta(minutes=5), now + timedelta(minutes=1), logs=logs)
    assert [line.message for line in lines] == [
        '{"level":"ERROR","message":"cannot read signing secret"}',
        "Task timed out after 60.00 seconds",
    ]
    assert lines[0].stream == "2026/11/23/[$LATEST]abc"


def test_at_most_max_lines_and_the_newest_win(logs: Any) -> None:
    """GIVEN 8 error lines WHEN max_lines is 3 THEN the newest 3."""
    now = datetime.now(UTC)
    put(logs, now - timedelta(minutes=1), *[f"[ERROR] boom {i}" for i in range(8)])
    lines = recent_error_lines(LOG_GROUP, now - timedelta(minutes=5), now, max_lines=3, logs=logs)
    assert [line.message for line in lines] == ["[ERROR] boom 5", "[ERROR] boom 6", "[ERROR] boom 7"]


def test_a_missing_log_group_is_dependency_unavailable(moto_aws: None) -> None:
    client = boto3.client("logs", region_name="us-east-1")
    now = datetime.now(UTC)
    expected = "cannot read /aws/lambda/nope: ResourceNotFoundException"
    with pytest.raises(DependencyUnavailable, match=expected):
        recent_error_lines("/aws/lambda/nope", now - timedelta(minutes=5), now, logs=client)


def test_window_is_the_evaluation_window_clamped_and_ends_after_the_change() -> None:
    """GIVEN a 1 x 300 s alarm THEN 5 min before to 1 min after; a 1 x 60 s alarm is widened to 5 min."""
    alarm = ev.alarm(ev.LAMBDA_ERRORS)
    change = alarm.state_change_time
    assert window(alarm) == (change - timedelta(minutes=5), change + timedelta(minutes=1))
    short = ev.alarm(ev.METRIC_MATH)
    assert window(short)[0] == short.state_change_time - timedelta(minutes=5)
