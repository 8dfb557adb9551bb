"""A partner's log group (created before its function, with a retention) and its three alarms."""

from __future__ import annotations

from typing import Any

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.provisioning.resources.calls import removed, tag_list


def ensure_log_group(name: str, retention_days: int, tags: dict[str, str], clients: Clients) -> str:
    """Create the log group (so Lambda never makes one that keeps logs forever); return its ARN."""
    try:
        clients.logs.create_log_group(logGroupName=name, tags=tags)
    except AWS_ERRORS as exc:
        if not has_code(exc, "ResourceAlreadyExistsException"):
            raise aws_error(f"create log group {name}", exc) from exc
    try:
        clients.logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
        found = clients.logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    except AWS_ERRORS as exc:
        raise aws_error(f"set the retention of {name}", exc) from exc
    arn = next(g["arn"] for g in found if g["logGroupName"] == name)
    return str(arn).removesuffix(":*")


def delete_log_group(name: str, clients: Clients) -> bool:
    return removed(
        f"delete log group {name}",
        lambda: clients.logs.delete_log_group(logGroupName=name),
        "ResourceNotFoundException",
    )


def alarm_definitions(
    stage: str, partner_id: str, oldest_message_seconds: int, topic_arn: str
) -> list[dict[str, Any]]:
    """Oldest message age on the queue, any message on the DLQ, any handler error: each to the topic."""
    queue = naming.partner_queue(stage, partner_id)
    common = {"Period": 300, "EvaluationPeriods": 1, "AlarmActions": [topic_arn], "OKActions": [topic_arn]}
    return [
        {
            **common,
            "AlarmName": naming.partner_alarm(stage, partner_id, "oldest-message-age"),
            "AlarmDescription": f"{partner_id}: a message has waited over {oldest_message_seconds} s",
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateAgeOfOldestMessage",
            "Dimensions": [{"Name": "QueueName", "Value": queue}],
            "Statistic": "Maximum",
            "Threshold": float(oldest_message_seconds),
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
        {
            **common,
            "AlarmName": naming.partner_alarm(stage, partner_id, "dlq-depth"),
            "AlarmDescription": f"{partner_id}: messages in the dead-letter queue",
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [
                {"Name": "QueueName", "Value": naming.partner_dead_letter_queue(stage, partner_id)}
            ],
            "Statistic": "Maximum",
            "Threshold": 0.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
        {
            **common,
            "AlarmName": naming.partner_alarm(stage, partner_id, "lambda-errors"),
            "AlarmDescription": f"{partner_id}: the handler Lambda failed",
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": naming.partner_function(stage, partner_id)}],
            "Statistic": "Sum",
            "Threshold": 0.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    ]


def ensure_alarms(definitions: list[dict[str, Any]], tags: dict[str, str], clients: Clients) -> None:
    """put_metric_alarm creates or overwrites: re-running is safe."""
    for alarm in definitions:
        try:
            clients.cloudwatch.put_metric_alarm(**alarm, Tags=tag_list(tags))
        except AWS_ERRORS as exc:
            raise aws_error(f"put alarm {alarm['AlarmName']}", exc) from exc


def delete_alarms(stage: str, partner_id: str, clients: Clients) -> list[str]:
    names = [naming.partner_alarm(stage, partner_id, kind) for kind in naming.ALARM_KINDS]
    try:
        found = clients.cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
        existing = [a["AlarmName"] for a in found]
        if existing:
            clients.cloudwatch.delete_alarms(AlarmNames=existing)
    except AWS_ERRORS as exc:
        raise aws_error(f"delete the alarms of {partner_id}", exc) from exc
    return sorted(existing)
