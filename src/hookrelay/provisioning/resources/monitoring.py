"""A partner's log group (created before its function, with a retention); the alarms over partners.

The stage alarms (:func:`stage_alarm_definitions`, made once per stage by ``shared.ensure_shared``) are
three CloudWatch Metrics Insights alarms whose query groups by queue or function name, so CloudWatch
evaluates each partner's time series as its own *contributor* and notifies per contributor: three
alarms whatever the number of partners, and a new partner is watched as soon as its metrics exist.
Two plain alarms more watch the results DLQ and alarm-to-slack's failures queue
(:func:`results_dlq_alarm_definition`, :func:`alarm_failures_alarm_definition`).
A few critical partners may also keep their own three single-metric alarms (``partner_alarms``
setting, :func:`alarm_definitions`); delete removes those if any exist (and those of older partners).

Limits (docs/alarm-to-slack.md): 200 Metrics Insights alarms per region; a query processes at most
10,000 metrics and returns 500 time series (ordered by value, so the worst 500 are kept); at most 100
contributors in ALARM at once; alarms evaluate the last 3 hours only. moto stores these alarms but
evaluates none.
"""

from __future__ import annotations

from typing import Any

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.partners.ordering import dead_letter_queue_name, queue_name
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
    stage: str, partner_id: str, oldest_message_seconds: int, topic_arn: str, ordering: str = "none"
) -> list[dict[str, Any]]:
    """Oldest message age on the queue, any message on the DLQ, any handler error: each to the topic.
    The queues are named as ``ordering`` names them (a FIFO partner's end in ``.fifo``)."""
    queue = queue_name(stage, partner_id, ordering)
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
                {"Name": "QueueName", "Value": dead_letter_queue_name(stage, partner_id, ordering)}
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


STAGE_PERIOD = 300


def metrics_insights_query(
    function: str, metric: str, namespace: str, dimension: str, like: str, unlike: tuple[str, ...] = ()
) -> str:
    """One time series per ``dimension`` value matching ``like`` (less the names in ``unlike``), worst
    first (the 500 kept are the worst).

    The patterns are built from a stage name (``[a-z0-9]``) and fixed text: nothing to escape.
    """
    without = f" AND {dimension} NOT IN ({', '.join(repr(n) for n in unlike)})" if unlike else ""
    return (
        f'SELECT {function}({metric}) FROM SCHEMA("{namespace}", {dimension}) '  # noqa: S608 (not SQL)
        f"WHERE {dimension} LIKE '{like}'{without} GROUP BY {dimension} ORDER BY {function}() DESC"
    )


def stage_alarm_definitions(stage: str, oldest_message_seconds: int, topic_arn: str) -> list[dict[str, Any]]:
    """The three alarms of :func:`alarm_definitions`, each over every partner, one contributor each."""
    prefix = naming.prefix(stage)
    kinds = {
        "oldest-message-age": (
            f"a message has waited over {oldest_message_seconds} s",
            metrics_insights_query(
                "MAX", "ApproximateAgeOfOldestMessage", "AWS/SQS", "QueueName", f"{prefix}-%"
            ),
            float(oldest_message_seconds),
        ),
        "dlq-depth": (
            "messages in a dead-letter queue",
            metrics_insights_query(
                "MAX",
                "ApproximateNumberOfMessagesVisible",
                "AWS/SQS",
                "QueueName",
                f"{prefix}-%-dlq%",  # a FIFO partner's DLQ ends in -dlq.fifo
                unlike=(naming.results_dead_letter_queue(stage),),  # it has an alarm of its own
            ),
            0.0,
        ),
        "lambda-errors": (
            "a handler Lambda failed",
            metrics_insights_query("SUM", "Errors", "AWS/Lambda", "FunctionName", f"{prefix}-%"),
            0.0,
        ),
    }
    return [
        {
            "AlarmName": naming.stage_alarm(stage, kind),
            "AlarmDescription": f"every partner of {stage}, one contributor each: {description}",
            "Metrics": [{"Id": "q1", "Expression": query, "Period": STAGE_PERIOD, "ReturnData": True}],
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [topic_arn],
            "OKActions": [topic_arn],
        }
        for kind, (description, query, threshold) in kinds.items()
    ]


def queue_depth_alarm_definition(name: str, queue: str, description: str, topic_arn: str) -> dict[str, Any]:
    """Any visible message on ``queue``, to the alarm topic (ALARM and OK)."""
    return {
        "AlarmName": name,
        "AlarmDescription": description,
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": queue}],
        "Statistic": "Maximum",
        "Period": STAGE_PERIOD,
        "EvaluationPeriods": 1,
        "Threshold": 0.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [topic_arn],
        "OKActions": [topic_arn],
    }


def results_dlq_alarm_definition(stage: str, topic_arn: str) -> dict[str, Any]:
    """Attempt records the recorder could not write (the deliveries happened; their log entries are
    missing until someone moves them back with sqs-mv)."""
    dlq = naming.results_dead_letter_queue(stage)
    description = f"attempt records the results recorder could not write wait in {dlq}"
    return queue_depth_alarm_definition(naming.results_dlq_alarm(stage), dlq, description, topic_arn)


def alarm_failures_alarm_definition(stage: str, topic_arn: str) -> dict[str, Any]:
    """Alarms alarm-to-slack dropped after Lambda's async retries (its on-failure destination).

    It notifies the same topic whose delivery failed: when Slack was only down for a while, this
    alarm's own message gets through once it is back and says where the dropped ones wait; when the
    path stays broken, an e-mail subscription on the topic still carries it. It cannot loop: the alarm
    notifies once per state change, however many of its own notifications fail.
    """
    queue = naming.alarm_failures_queue(stage)
    description = f"alarms that never reached Slack wait in {queue} (replay them with sqs-mv)"
    return queue_depth_alarm_definition(naming.alarm_failures_alarm(stage), queue, description, topic_arn)


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
