"""Links to the alarm (and to log groups) open the console of the alarm's own region and partition."""

from __future__ import annotations

import pytest

from hookrelay.alarms.console import alarm_url, log_group_url, partition_of_region
from hookrelay.alarms.notification import parse_notification
from tests.support import alarm_events as ev


@pytest.mark.parametrize(
    ("name", "url"),
    [
        (
            ev.SINGLE_METRIC,
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
            "#alarmsV2:alarm/hookrelay-dev-acme-oldest-message-age",
        ),
        (
            ev.DLQ_OK_CHINA,
            "https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1"
            "#alarmsV2:alarm/hookrelay-prod-initech-dlq-depth",
        ),
        (
            ev.INSUFFICIENT_GOVCLOUD,
            "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1"
            "#alarmsV2:alarm/hookrelay-dev-results-oldest-message-age",
        ),
    ],
)
def test_alarm_link_uses_the_partition_console_of_the_alarm_region(name: str, url: str) -> None:
    assert alarm_url(ev.alarm(name)) == url


def test_alarm_names_are_escaped_in_the_link() -> None:
    """GIVEN an alarm name with spaces and slashes THEN it is one escaped path segment."""
    alarm = ev.alarm(ev.SINGLE_METRIC).model_copy(update={"alarm_name": "queue depth / acme"})
    assert alarm_url(alarm) == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#alarmsV2:alarm/queue%20depth%20%2F%20acme"
    )


def test_without_an_arn_the_region_falls_back_and_places_the_partition() -> None:
    """GIVEN no AlarmArn WHEN a default region in GovCloud is given THEN the GovCloud console is linked."""
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:hookrelay-dev-acme-oldest-message-age"
    text = ev.raw(ev.SINGLE_METRIC).replace(f'"AlarmArn": "{arn}",', "")
    alarm = parse_notification(text)
    assert alarm_url(alarm) is None
    assert alarm_url(alarm, default_region="us-gov-east-1") == (
        "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-east-1"
        "#alarmsV2:alarm/hookrelay-dev-acme-oldest-message-age"
    )


@pytest.mark.parametrize(
    ("region", "partition"),
    [("eu-west-1", "aws"), ("cn-northwest-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_partition_of_region(region: str, partition: str) -> None:
    assert partition_of_region(region) == partition


def test_log_group_link_uses_the_console_double_escaping() -> None:
    assert log_group_url("us-east-1", "/aws/lambda/hookrelay-dev-acme") == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#logsV2:log-groups/log-group/$252Faws$252Flambda$252Fhookrelay-dev-acme"
    )
