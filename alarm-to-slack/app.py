"""hookrelay alarm-to-slack: CloudWatch alarms of one stage, posted to Slack.

Subscribed to the stage's alarm topic (``hookrelay-<stage>-alarms``), which every alarm the
provisioner creates notifies on ALARM and OK. Raising fails the invocation so SNS/Lambda retry it:
that happens only when Slack would not take the message (in time: the invocation's deadline is the
Lambda context's remaining time, hookrelay.alarms.deadline). Past Lambda's async retries the event goes
to ``hookrelay-<stage>-alarm-failures`` (the on-failure destination `make deploy` sets).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from chalice import Chalice

from hookrelay.alarms.deadline import Deadline
from hookrelay.alarms.forwarding import AlarmDeps, build_deps, forward_notification
from hookrelay.alarms.settings import alarm_settings
from hookrelay.naming import alarm_topic
from hookrelay.observability import configure_logging, invocation
from hookrelay.tracing import configure_tracing

app = Chalice(app_name="hookrelay-alarm-to-slack")

# The topic is fixed when chalice loads the app to package it (with the stage's environment set), so it
# comes from the stage variable, not from the settings, which also want the Slack secret.
STAGE = os.environ.get("HOOKRELAY_STAGE", "dev")


@lru_cache(maxsize=1)
def deps() -> AlarmDeps:
    """Built on the first invocation, reused while the container lives."""
    settings = alarm_settings()
    configure_logging("alarm-to-slack", settings.log_level)
    configure_tracing()
    return build_deps(settings)


@app.on_sns_message(topic=alarm_topic(STAGE), name="forward")
def forward(event: Any) -> dict[str, Any]:
    with invocation(event.context):
        deadline = Deadline.from_context(event.context)
        result = forward_notification(event.message, deps(), subject=event.subject, deadline=deadline)
    return {"attempts": result.attempts, "parsed": result.parsed, "alarm_name": result.alarm_name}
