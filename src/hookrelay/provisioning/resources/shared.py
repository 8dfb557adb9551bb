"""What every partner shares: the partners and deliveries tables, the results queue, the alarm topic,
the three stage alarms over every partner and (``handler_role=shared``) the stage's handler role.

:func:`ensure_shared` makes them idempotently (deploy, the local stack and the tests call it), and
:func:`shared_arns` finds the ARNs a partner's resources refer to. Deleting a partner never deletes any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import DependencyUnavailable
from hookrelay.provisioning.resources.iam import ensure_shared_role
from hookrelay.provisioning.resources.monitoring import ensure_alarms, stage_alarm_definitions
from hookrelay.provisioning.resources.queues import RETENTION_SECONDS, find_queue_url, queue_arn
from hookrelay.provisioning.settings import ProvisionerSettings

if TYPE_CHECKING:
    from types_boto3_dynamodb.literals import KeyTypeType, ScalarAttributeTypeType

TTL_ATTRIBUTE = "expires_at"


@dataclass(frozen=True)
class SharedArns:
    results_queue_url: str
    results_queue_arn: str
    alarm_topic_arn: str


def _ensure_table(name: str, key: list[tuple[str, ScalarAttributeTypeType]], clients: Clients) -> bool:
    kinds: tuple[KeyTypeType, KeyTypeType] = ("HASH", "RANGE")
    try:
        clients.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": n, "KeyType": kinds[i]} for i, (n, _) in enumerate(key)],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in key],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "project", "Value": naming.PROJECT}],
        )
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceInUseException"):
            return False
        raise aws_error(f"create table {name}", exc) from exc
    clients.dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    return True


def ensure_shared(stage: str, clients: Clients, settings: ProvisionerSettings | None = None) -> SharedArns:
    """Create what is missing of the shared resources; return their ARNs.

    ``settings`` give the stage alarms' threshold and whether to make the shared handler role now
    (without them: the default threshold, and create makes the role the first time it needs it).
    """
    _ensure_table(naming.partners_table(stage), [("partner_id", "S")], clients)
    deliveries = naming.deliveries_table(stage)
    if _ensure_table(deliveries, [("partner_id", "S"), ("sort_key", "S")], clients):
        clients.dynamodb.update_time_to_live(
            TableName=deliveries, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
    try:
        clients.sqs.create_queue(
            QueueName=naming.results_queue(stage),
            Attributes={"MessageRetentionPeriod": str(RETENTION_SECONDS)},
            tags={"project": naming.PROJECT},
        )
        clients.sns.create_topic(
            Name=naming.alarm_topic(stage), Tags=[{"Key": "project", "Value": "hookrelay"}]
        )
    except AWS_ERRORS as exc:
        raise aws_error("create the shared results queue and alarm topic", exc) from exc
    arns = shared_arns(stage, clients)
    settings = settings or ProvisionerSettings(stage=stage)
    stage_tags = {"project": naming.PROJECT, "environment": stage}
    alarms = stage_alarm_definitions(stage, settings.oldest_message_alarm_seconds, arns.alarm_topic_arn)
    ensure_alarms(alarms, stage_tags, clients)
    if settings.handler_role == "shared":
        ensure_shared_role(stage, arns.results_queue_arn, clients)
    return arns


def shared_arns(stage: str, clients: Clients) -> SharedArns:
    url = find_queue_url(naming.results_queue(stage), clients)
    if url is None:
        raise DependencyUnavailable(f"the shared results queue {naming.results_queue(stage)} does not exist")
    try:
        topic = clients.sns.create_topic(Name=naming.alarm_topic(stage))["TopicArn"]  # idempotent lookup
        arn = queue_arn(url, clients)
    except AWS_ERRORS as exc:
        raise aws_error("find the shared alarm topic", exc) from exc
    return SharedArns(results_queue_url=url, results_queue_arn=arn, alarm_topic_arn=str(topic))
