"""Deep links into the CloudWatch console of the alarm's own region and partition.

The partition comes from the alarm ARN (``arn:aws``, ``arn:aws-cn``, ``arn:aws-us-gov``); each has its
own console host. A region whose partition is not in the ARN is placed by its name (``cn-*``,
``us-gov-*``), so a link is right even for a notification without an ARN.
"""

from __future__ import annotations

from urllib.parse import quote

from hookrelay.alarms.notification import AlarmNotification

_CONSOLE_HOSTS = {
    "aws": "{region}.console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


def partition_of_region(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def console_base(region: str, partition: str | None = None) -> str:
    """``https://<console host>/cloudwatch/home?region=<region>`` for this region and partition."""
    partition = partition or partition_of_region(region)
    host = _CONSOLE_HOSTS.get(partition, _CONSOLE_HOSTS["aws"]).format(region=region)
    return f"https://{host}/cloudwatch/home?region={region}"


def alarm_url(alarm: AlarmNotification, default_region: str | None = None) -> str | None:
    """The console page of this alarm, or None if its region is unknown."""
    region = alarm.region or default_region
    if not region:
        return None
    return f"{console_base(region, alarm.partition)}#alarmsV2:alarm/{quote(alarm.alarm_name, safe='')}"


def log_group_url(region: str, log_group: str, partition: str | None = None) -> str:
    """The console page of a log group (its streams), in the console's own escaping."""
    escaped = quote(quote(log_group, safe=""), safe="").replace("%", "$")
    return f"{console_base(region, partition)}#logsV2:log-groups/log-group/{escaped}"
