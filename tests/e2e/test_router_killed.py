"""The events router SIGKILLed mid-fan-out (issue 14 item 1): its rerun completes the fan-out, nothing is
lost, and what a partner receives twice carries the same webhook id.

A real process (tests/support/router_process.py: the local Lambda runtime running the provisioner app's
``route_events``, as `make run` does) on moto's server: the router function and its mapping
(ReportBatchItemFailures) as bootstrap makes them, 240 partner queues filed in the subscription index, an
events queue whose 3 s visibility timeout brings an unacknowledged batch back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.provisioning.events.model import Event
from hookrelay.provisioning.events.subscriptions import SubscriptionIndex
from hookrelay.provisioning.resources.shared import ensure_shared
from hookrelay_local.bootstrap import ROUTER_HANDLER
from hookrelay_local.lambda_runtime.runtime import local_client
from tests.e2e.lambda_runtime.conftest import local_aws, moto_endpoint
from tests.support.lambda_runtime import ROLE_ARN, LocalAws

__all__ = ["local_aws", "moto_endpoint"]
pytestmark = pytest.mark.e2e
STAGE = "kill"
PATTERNS = ["invoice.*", "invoice.paid", "*", []]  # 4 x 50 subscribers of invoice.paid
EVENTS = ("evt_k1", "evt_k2", "evt_k3")


def make_stage(aws: LocalAws) -> tuple[Any, dict[str, str]]:
    """The shared resources as deploy makes them (the events queue's visibility cut to 3 s), the router's
    function and mapping as bootstrap makes them, 200 subscribed partner queues and 40 of another topic."""
    services = ("sqs", "dynamodb", "sns", "cloudwatch", "iam", "s3", "secretsmanager")
    clients = Clients(overrides={s: local_client(s, aws.endpoint_url, aws.region) for s in services})
    ensure_shared(STAGE, clients)
    events_url = aws.sqs.get_queue_url(QueueName=naming.events_queue(STAGE))["QueueUrl"]
    aws.sqs.set_queue_attributes(QueueUrl=events_url, Attributes={"VisibilityTimeout": "3"})
    events_arn = aws.sqs.get_queue_attributes(QueueUrl=events_url, AttributeNames=["QueueArn"])["Attributes"]
    aws.lambda_.create_function(
        FunctionName=f"hookrelay-{STAGE}-route-events",
        Runtime="python3.11",
        Role=ROLE_ARN,
        Handler=ROUTER_HANDLER,
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},  # never run by moto: the local runtime runs the app
        Timeout=60,
    )
    aws.lambda_.create_event_source_mapping(
        EventSourceArn=events_arn["QueueArn"],
        FunctionName=f"hookrelay-{STAGE}-route-events",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    index = SubscriptionIndex.of_stage(STAGE, clients)
    urls: dict[str, str] = {}
    for n in range(240):
        pid = f"p{n:03d}"
        types = PATTERNS[n % 4] if n < 200 else ["customer.created"]
        urls[pid] = aws.sqs.create_queue(QueueName=naming.partner_queue(STAGE, pid))["QueueUrl"]
        index.file(pid, types if isinstance(types, list) else [types])
    return clients, urls


def spawn(aws: LocalAws) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "AWS_DEFAULT_REGION": aws.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "HOOKRELAY_STAGE": STAGE,
        "HOOKRELAY_ROUTER_THREADS": "2",
    }
    command = [sys.executable, "-m", "tests.support.router_process", "--endpoint-url", aws.endpoint_url]
    return subprocess.Popen(
        [*command, "--idle", "5"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )


def received(aws: LocalAws, url: str) -> list[str]:
    """The webhook ids on a partner queue (each message received once, then left in flight)."""
    ids: list[str] = []
    while True:
        batch = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)
        if not batch.get("Messages"):
            return ids
        ids += [json.loads(m["Body"])["id"] for m in batch["Messages"]]


def depth(aws: LocalAws, url: str) -> int:
    attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_a_router_killed_mid_fan_out_loses_nothing_and_its_rerun_completes(local_aws: LocalAws) -> None:
    # GIVEN 200 partners subscribed to invoice.paid (4 ways), 40 that are not, and three invoice.paid events
    clients, urls = make_stage(local_aws)
    events_url = local_aws.sqs.get_queue_url(QueueName=naming.events_queue(STAGE))["QueueUrl"]
    for event_id in EVENTS:
        body = Event(id=event_id, topic="invoice.paid", payload={"id": event_id}).model_dump_json()
        local_aws.sqs.send_message(QueueUrl=events_url, MessageBody=body)
    # WHEN the router process is SIGKILLed after 20 of its 200 partner sends
    first = spawn(local_aws)
    assert first.stdout is not None
    for line in first.stdout:
        if line.startswith("sent ") and int(line.split()[1]) >= 20:
            break
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    # THEN at that moment only some partners have the events (the fan-out was cut short) ...
    reached = [pid for pid, url in list(urls.items())[:200] if depth(local_aws, url) > 0]
    assert 20 <= len(reached) < 200
    # AND WHEN it runs again (the unacknowledged batch comes back after the visibility timeout)
    second = spawn(local_aws)
    output, _ = second.communicate(timeout=90)
    assert (second.returncode, output.splitlines()[-1]) == (0, "idle")
    # THEN every subscribed partner has every event, the others none, and each partner's copies carry the
    # event ids as webhook ids: a partner reached twice holds each event twice, with the same id
    got = {pid: Counter(received(local_aws, url)) for pid, url in urls.items()}
    subscribed = {pid: c for pid, c in got.items() if int(pid[1:]) < 200}
    assert all(set(c) == set(EVENTS) for c in subscribed.values())
    assert all(not c for pid, c in got.items() if int(pid[1:]) >= 200)
    twice = [pid for pid, c in subscribed.items() if set(c.values()) == {2}]
    once = [pid for pid, c in subscribed.items() if set(c.values()) == {1}]
    assert sorted(twice + once) == sorted(subscribed)
    assert set(twice) <= set(reached)
    assert len(twice) >= 20
    # AND the message store kept each of them, once per partner (the router keeps before it sends)
    kept = clients.dynamodb.scan(TableName=naming.messages_table(STAGE), Select="COUNT")
    assert kept["Count"] == 200 * len(EVENTS)
    # AND the events queue is empty: the rerun acknowledged the batch
    assert local_aws.sqs.get_queue_attributes(
        QueueUrl=events_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
