"""What every partner shares: the partners and deliveries tables, the results queue (with its DLQ), the
alarm topic, the three stage alarms over every partner plus two queue-depth alarms, alarm-to-slack's
on-failure queue and (``handler_role=shared``) the stage's handler role.

``hookrelay-<stage>-alarm-failures`` is alarm-to-slack's on-failure destination (deploy sets the
function's async invoke config): an alarm Lambda dropped after its retries waits there 14 days, watched
by the alarm ``hookrelay-<stage>-alarm-failures-dlq-depth``.

The results queue redrives to ``hookrelay-<stage>-results-dlq`` after :data:`RESULTS_MAX_RECEIVES`
receives: the recorder reports partial batch failures, so an attempt record that can never be written
fails alone and, after five tries, waits there (alarm ``hookrelay-<stage>-results-dlq-depth``) instead of
coming back for 14 days. An existing results queue made before the DLQ gets the redrive on the next
:func:`ensure_shared` (``ensure_queues`` brings an existing queue to its attributes).

:func:`ensure_shared` makes them idempotently (deploy, the local stack and the tests call it), and
:func:`shared_arns` finds the ARNs a partner's resources refer to. Deleting a partner never deletes any.
"""

from __future__ import annotations

from dataclasses import dataclass

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.errors import DependencyUnavailable
from hookrelay.provisioning.resources.console_secret import ensure_console_secret
from hookrelay.provisioning.resources.event_feed import ensure_event_resources
from hookrelay.provisioning.resources.iam import ensure_shared_role
from hookrelay.provisioning.resources.message_tables import ensure_message_resources
from hookrelay.provisioning.resources.monitoring import (
    alarm_failures_alarm_definition,
    ensure_alarms,
    results_dlq_alarm_definition,
    stage_alarm_definitions,
)
from hookrelay.provisioning.resources.queues import (
    RETENTION_SECONDS,
    ensure_queues,
    find_queue_url,
    queue_arn,
)
from hookrelay.provisioning.resources.tables import ensure_table
from hookrelay.provisioning.settings import ProvisionerSettings

ROLLOUT_VISIBILITY_SECONDS = 360  # six times the rollout worker's 60 s timeout (AWS's advice)
ROLLOUT_MAX_RECEIVES = 5  # a chunk that fails five times waits in the work queue's DLQ
RESULTS_VISIBILITY_SECONDS = 360  # six times the recorder's 60 s timeout (the provisioner app's)
RESULTS_MAX_RECEIVES = 5  # an attempt record that fails five times waits in the results DLQ


@dataclass(frozen=True)
class SharedArns:
    results_queue_url: str
    results_queue_arn: str
    alarm_topic_arn: str


def ensure_shared(stage: str, clients: Clients, settings: ProvisionerSettings | None = None) -> SharedArns:
    """Create what is missing of the shared resources; return their ARNs.

    ``settings`` give the stage alarms' threshold and whether to make the shared handler role now
    (without them: the default threshold, and create makes the role the first time it needs it).
    """
    ensure_table(naming.partners_table(stage), [("partner_id", "S")], clients)
    ensure_table(naming.deliveries_table(stage), [("partner_id", "S"), ("sort_key", "S")], clients, ttl=True)
    ensure_results_queues(stage, clients)
    try:
        clients.sns.create_topic(
            Name=naming.alarm_topic(stage), Tags=[{"Key": "project", "Value": "hookrelay"}]
        )
        clients.sqs.create_queue(
            QueueName=naming.alarm_failures_queue(stage),
            Attributes={"MessageRetentionPeriod": str(RETENTION_SECONDS)},
            tags={"project": naming.PROJECT},
        )
    except AWS_ERRORS as exc:
        raise aws_error("create the shared alarm topic and alarm-failures queue", exc) from exc
    ensure_rollout_resources(stage, clients)
    ensure_message_resources(stage, clients)  # the message store, replays, the deliveries' by-webhook index
    arns = shared_arns(stage, clients)
    settings = settings or ProvisionerSettings(stage=stage)
    stage_tags = {"project": naming.PROJECT, "environment": stage}
    alarms = stage_alarm_definitions(stage, settings.oldest_message_alarm_seconds, arns.alarm_topic_arn)
    alarms += [
        results_dlq_alarm_definition(stage, arns.alarm_topic_arn),
        alarm_failures_alarm_definition(stage, arns.alarm_topic_arn),
    ]
    ensure_alarms(alarms, stage_tags, clients)
    ensure_event_resources(stage, clients, arns.alarm_topic_arn)  # issue 14: the events feed
    ensure_console_secret(stage, clients)  # the operator console's login (docs/console.md)
    if settings.handler_role == "shared":
        ensure_shared_role(stage, arns.results_queue_arn, clients)
    return arns


def ensure_results_queues(stage: str, clients: Clients) -> str:
    """The results queue and its DLQ, the redrive set (also on a queue made before it); the queue's URL."""
    queue = naming.results_queue(stage)
    pair = ensure_queues(
        queue,
        naming.results_dead_letter_queue(stage),
        RESULTS_VISIBILITY_SECONDS,
        RESULTS_MAX_RECEIVES,
        {"project": naming.PROJECT},
        clients,
    )
    return pair.url


def ensure_rollout_resources(stage: str, clients: Clients) -> str:
    """update-code's rollouts table and work queue (with its DLQ); return the queue's URL."""
    ensure_table(naming.rollouts_table(stage), [("rollout_id", "S"), ("item", "S")], clients)
    queue = naming.rollout_queue(stage)
    tags = {"project": naming.PROJECT}
    pair = ensure_queues(
        queue, f"{queue}-dlq", ROLLOUT_VISIBILITY_SECONDS, ROLLOUT_MAX_RECEIVES, tags, clients
    )
    return pair.url


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
