"""alarm-to-slack's on-failure destination, set after `chalice deploy` (Chalice cannot set it).

SNS invokes alarm-to-slack asynchronously. Lambda retries a failed invocation :data:`MAX_RETRIES`
times; past that, or once an event is older than :data:`MAX_EVENT_AGE_SECONDS`, it would drop it
silently. The function's event invoke config sends such an event (the SNS notification, with the
error) to ``hookrelay-<stage>-alarm-failures`` instead (``ensure_shared`` makes it, 14-day retention,
with an alarm on its depth); on-call finds them there and ``sqs-mv`` replays them. The function's
role may send to that queue (``alarm-to-slack/.chalice/policy-*.json``, ``AlarmFailuresQueue``).
"""

from __future__ import annotations

import json
from pathlib import Path

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.provisioning.resources.queues import find_queue_url, queue_arn

APP = "alarm-to-slack"
FUNCTION = "forward"  # the name of alarm-to-slack's @app.on_sns_message handler
MAX_RETRIES = 2  # Lambda's most
MAX_EVENT_AGE_SECONDS = 3600  # an alarm an hour late is better kept in the queue than posted


def deployed_function_arn(record: Path, name: str) -> str:
    """The ARN of the function ``name`` in chalice's record of a deployment (``deployed/<stage>.json``)."""
    resources = json.loads(record.read_text())["resources"] if record.exists() else []
    for resource in resources:
        if resource.get("resource_type") == "lambda_function" and resource.get("name") == name:
            return str(resource["lambda_arn"])
    raise SystemExit(f"{record} records no function {name}: was the app deployed?")


def send_failures_to_queue(stage: str, function_arn: str, clients: Clients) -> str:
    """Set the function's async retries and its OnFailure destination; return the destination's ARN."""
    queue = naming.alarm_failures_queue(stage)
    url = find_queue_url(queue, clients)
    if url is None:
        raise SystemExit(f"queue {queue} does not exist: the shared resources step makes it")
    destination = queue_arn(url, clients)
    clients.lambda_.put_function_event_invoke_config(  # create or replace: re-running is safe
        FunctionName=function_arn,
        MaximumRetryAttempts=MAX_RETRIES,
        MaximumEventAgeInSeconds=MAX_EVENT_AGE_SECONDS,
        DestinationConfig={"OnFailure": {"Destination": destination}},
    )
    return destination
