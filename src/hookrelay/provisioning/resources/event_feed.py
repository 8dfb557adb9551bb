"""The shared resources of the events feed, made idempotently with the other shared ones.

- ``hookrelay-<stage>-events`` (table, pk ``pk``, TTL ``expires_at``): event ids seen (the dedup window);
- ``hookrelay-<stage>-subscriptions`` (table, pk ``pattern``, sk ``partner_id``): the subscription index,
  filled with the partners that exist already when the table is made (the deploy that brings events);
- ``hookrelay-<stage>-events`` (queue) redriving to ``hookrelay-<stage>-events-dlq`` after
  :data:`EVENTS_MAX_RECEIVES` receives, watched by the alarm ``hookrelay-<stage>-events-dlq-depth``;
- ``hookrelay-<stage>-events.fifo`` (FIFO queue: the events with an ``ordering_key``, group = the key)
  redriving to ``hookrelay-<stage>-events-dlq.fifo`` the same way, alarm
  ``hookrelay-<stage>-events-dlq.fifo-depth``.
"""

from __future__ import annotations

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.provisioning.events.subscriptions import file_existing_partners
from hookrelay.provisioning.resources.monitoring import ensure_alarms, queue_depth_alarm_definition
from hookrelay.provisioning.resources.queues import ensure_queues
from hookrelay.provisioning.resources.tables import ensure_table

EVENTS_VISIBILITY_SECONDS = 360  # six times the router's 60 s timeout (the provisioner app's)
EVENTS_MAX_RECEIVES = 5  # an event that fails five times waits in the events DLQ


def ensure_event_resources(stage: str, clients: Clients, topic_arn: str) -> str:
    """The tables, the events queue with its DLQ, the DLQ's alarm; return the events queue's URL."""
    ensure_table(naming.events_table(stage), [("pk", "S")], clients, ttl=True)
    if ensure_table(naming.subscriptions_table(stage), [("pattern", "S"), ("partner_id", "S")], clients):
        file_existing_partners(stage, clients)
    tags = {"project": naming.PROJECT}
    alarms, urls = [], []
    for queue, dlq, alarm_name in (
        (naming.events_queue(stage), naming.events_dead_letter_queue(stage), naming.events_dlq_alarm(stage)),
        (
            naming.events_fifo_queue(stage),
            naming.events_fifo_dead_letter_queue(stage),
            naming.events_fifo_dlq_alarm(stage),
        ),
    ):  # the standard feed; the FIFO one (events with an ordering key; .fifo names get FIFO attributes)
        pair = ensure_queues(queue, dlq, EVENTS_VISIBILITY_SECONDS, EVENTS_MAX_RECEIVES, tags, clients)
        urls.append(pair.url)
        description = (
            f"published events the router could not fan out wait in {dlq} (move them back with sqs-mv)"
        )
        alarms.append(queue_depth_alarm_definition(alarm_name, dlq, description, topic_arn))
    ensure_alarms(alarms, {**tags, "environment": stage}, clients)
    return urls[0]
