"""Build a partner's AWS resources on a real moto server, as the provisioner would, with boto3.

Queue + DLQ (redrive policy), signing secret, handler function (environment from HandlerSettings),
SQS event source mapping. Used by the local Lambda runtime's tests.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hookrelay.models import WebhookMessage
from hookrelay.settings import HandlerSettings
from hookrelay.signing.keys import SigningKey, SigningKeys
from hookrelay.signing.standard import generate_secret
from hookrelay_local.lambda_runtime.runtime import local_client
from hookrelay_local.lambda_runtime.stats import InvocationReport
from hookrelay_local.partner_server import PartnerServer

ROLE_ARN = "arn:aws:iam::123456789012:role/hookrelay-local-handler"


def _code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def deliver(event, context):\n    return None\n")
    return buffer.getvalue()


@dataclass
class LocalAws:
    endpoint_url: str
    region: str = "us-east-1"
    sqs: Any = None
    lambda_: Any = None
    secretsmanager: Any = None
    iam: Any = None

    def __post_init__(self) -> None:
        for service in ("sqs", "secretsmanager", "iam"):
            setattr(self, service, local_client(service, self.endpoint_url, self.region))
        self.lambda_ = local_client("lambda", self.endpoint_url, self.region)
        role = json.dumps({"Version": "2012-10-17", "Statement": []})
        self.iam.create_role(RoleName="hookrelay-local-handler", AssumeRolePolicyDocument=role)


@dataclass
class Partner:
    partner_id: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    function_name: str
    mapping_uuid: str
    secret: str


def create_partner(
    aws: LocalAws,
    partner_id: str,
    partner_url: str,
    *,
    batch_size: int = 10,
    visibility_timeout: int = 2,
    max_receive_count: int = 5,
    report_failures: bool = True,
    maximum_concurrency: int | None = None,
    reserved_concurrency: int | None = None,
    timeout: int = 10,
    handler: str = "app.deliver",
    dead_letter_queue_url: str | None = None,
    enabled: bool = True,
    results_queue_url: str | None = None,
    handler_settings: dict[str, Any] | None = None,
    fifo: bool = False,
) -> Partner:
    """Everything one partner owns; the mapping is created last (so messages sent before wait).
    ``fifo``: FIFO queue and DLQ (``.fifo``, no content-based deduplication), as an ordered partner's."""
    suffix = ".fifo" if fifo else ""
    fifo_attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if fifo else {}
    dlq_url = aws.sqs.create_queue(QueueName=f"{partner_id}-dlq{suffix}", Attributes=fifo_attributes)[
        "QueueUrl"
    ]
    dlq_arn = aws.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
    queue_url = aws.sqs.create_queue(
        QueueName=f"{partner_id}{suffix}",
        Attributes={
            **fifo_attributes,
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    secret = generate_secret()
    keys = SigningKeys(keys=[SigningKey(secret=secret)])
    secret_arn = aws.secretsmanager.create_secret(
        Name=f"hookrelay/{partner_id}", SecretString=keys.to_secret_string()
    )["ARN"]
    settings = HandlerSettings(
        partner_id=partner_id,
        partner_url=partner_url,
        queue_url=queue_url,
        dead_letter_queue_url=dead_letter_queue_url or dlq_url,
        results_queue_url=results_queue_url,
        secret_id=secret_arn,
        allowed_networks=("loopback",),
        read_timeout=5,
        **(handler_settings or {}),
    )
    function_name = f"{partner_id}-handler"
    aws.lambda_.create_function(
        FunctionName=function_name,
        Runtime="python3.11",
        Role=ROLE_ARN,
        Handler=handler,
        Code={"ZipFile": _code_zip()},
        Timeout=timeout,
        Environment={"Variables": settings.to_environment()},
    )
    if reserved_concurrency is not None:
        aws.lambda_.put_function_concurrency(
            FunctionName=function_name, ReservedConcurrentExecutions=reserved_concurrency
        )
    mapping: dict[str, Any] = {
        "EventSourceArn": queue_arn,
        "FunctionName": function_name,
        "BatchSize": batch_size,
        "Enabled": enabled,
    }
    if report_failures:
        mapping["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if maximum_concurrency is not None:
        mapping["ScalingConfig"] = {"MaximumConcurrency": maximum_concurrency}
    return Partner(
        partner_id=partner_id,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        function_name=function_name,
        mapping_uuid=aws.lambda_.create_event_source_mapping(**mapping)["UUID"],
        secret=secret,
    )


def send_bodies(aws: LocalAws, queue_url: str, bodies: list[str]) -> list[str]:
    """Send raw bodies, ten per request; return their SQS message ids in order."""
    ids: list[str] = []
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
        response = aws.sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        assert not response.get("Failed")
        ids.extend(s["MessageId"] for s in sorted(response["Successful"], key=lambda s: int(s["Id"])))
    return ids


def publish(aws: LocalAws, partner: Partner, count: int) -> list[str]:
    """Put ``count`` webhook messages on the partner's queue; return their webhook ids."""
    messages = [
        WebhookMessage(partner_id=partner.partner_id, topic="order.created", payload={"n": i})
        for i in range(count)
    ]
    send_bodies(aws, partner.queue_url, [m.to_sqs_body() for m in messages])
    return [m.id for m in messages]


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until ``condition()`` is truthy; fail after ``timeout`` (a bound on a hang, not a timing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@dataclass
class Reports:
    """Collects the runtime's per-batch reports (its ``on_invocation`` callback)."""

    items: list[InvocationReport] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, report: InvocationReport) -> None:
        with self._lock:
            self.items.append(report)

    def snapshot(self) -> list[InvocationReport]:
        with self._lock:
            return list(self.items)


def webhook_ids(server: PartnerServer) -> list[str]:
    """The ``webhook-id`` of every request a partner server received, in order (duplicates kept)."""
    return [r.headers["webhook-id"] for r in server.requests_snapshot()]


def queue_counts(aws: LocalAws, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages on a queue."""
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def spawn_runtime(endpoint_url: str, log: Path) -> subprocess.Popen[bytes]:
    """The runtime's CLI in its own process (output appended to ``log``): a process a test can SIGKILL."""
    env = {**os.environ, "POWERTOOLS_METRICS_DISABLED": "true"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hookrelay_local.lambda_runtime", "--endpoint-url", endpoint_url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
