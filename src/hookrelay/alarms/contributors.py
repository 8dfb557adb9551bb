"""Which partners a stage alarm is about, asked of CloudWatch when its notification does not say.

A stage alarm's own notification ("3 out of 150 time series evaluated to ALARM") names no partner;
``DescribeAlarmContributors`` lists the contributors in ALARM with their attributes (the queue or
function name), which name the partners. One call per page, at most ``max_pages`` pages, only for a
stage alarm going to ALARM: cheap next to the three alarms per partner it replaces. Best effort: a
failure raises DependencyUnavailable and the caller posts without the names (moto does not implement
the call; the tests stub it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookrelay import naming
from hookrelay.alarms.notification import PARTNER_DIMENSIONS
from hookrelay.aws.errors import AWS_ERRORS, aws_error

if TYPE_CHECKING:
    from types_boto3_cloudwatch import CloudWatchClient


def partners_in_alarm(alarm_name: str, cloudwatch: CloudWatchClient, max_pages: int = 2) -> list[str]:
    """The partners whose time series are in ALARM in ``alarm_name``, sorted, each once."""
    found: set[str] = set()
    token: str | None = None
    for _ in range(max_pages):
        try:
            page = (
                cloudwatch.describe_alarm_contributors(AlarmName=alarm_name, NextToken=token)
                if token
                else cloudwatch.describe_alarm_contributors(AlarmName=alarm_name)
            )
        except AWS_ERRORS as exc:
            raise aws_error(f"list the contributors of {alarm_name}", exc) from exc
        for contributor in page.get("AlarmContributors", []):
            attributes = contributor.get("ContributorAttributes", {})
            found |= {
                partner
                for key in PARTNER_DIMENSIONS
                if key in attributes and (partner := naming.partner_from_name(attributes[key]))
            }
        token = page.get("NextToken")
        if not token:
            break
    return sorted(found)
