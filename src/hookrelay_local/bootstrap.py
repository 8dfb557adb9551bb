"""Create, on the embedded AWS, what a deployment creates outside the provisioner.

The shared resources (tables, results queue, alarm topic), the artifact bucket with the handler build
(``chalice package``, split into its code zip and its dependency layer zip: the provisioner publishes
the layer on the first create and attaches it to every partner function; the local runtime runs the
handler in-process, so the layer's content is never unpacked here), and the two functions `chalice
deploy` would create with their queue mappings: the results recorder (provisioner app;
ReportBatchItemFailures on, as a deployment sets it) and the sample receiver's inbox consumer. Also the
attempt recorder (``hookrelay-provisioner-<stage>-record_attempt_lines``, the name `chalice deploy` gives
it), which the partners' log groups are subscribed to, with its wiring as `make deploy` sets it (CloudWatch
Logs may invoke it; its on-failure destination is the results DLQ): the local runtime delivers the
handlers' attempt lines to it (``lambda_runtime.log_subscriptions``). Idempotent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import has_code
from hookrelay.aws.sqs import lookup_queue_url
from hookrelay.provisioning.consumers import CONSUMERS
from hookrelay.provisioning.resources.artifact import upload_artifact
from hookrelay.provisioning.resources.attempt_filter import (
    ensure_recorder_wiring,
    recorder_function,
    recorder_handler,
)
from hookrelay.provisioning.resources.console_secret import ensure_console_secret
from hookrelay.provisioning.resources.message_bodies import ensure_message_body_expiry
from hookrelay.provisioning.resources.queues import find_queue_url, queue_arn
from hookrelay.provisioning.resources.shared import ensure_shared
from hookrelay.provisioning.settings import provisioner_settings
from hookrelay.receiving.dedup import create_dedup_table
from hookrelay_local.artifacts import build_app_zip, build_handler_artifact

APPS_ROLE = "hookrelay-local-apps"  # the role `chalice deploy` would make for the shared functions
PROVISIONER_APP = "provisioner"  # its zip carries every consumer (hookrelay.provisioning.consumers)
ROUTER_HANDLER = "app.route_events"  # the events router's handler (tests run it on its own)
INBOX_HANDLER = "app.inbox"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


class _Options(Protocol):
    @property
    def stage(self) -> str: ...


class Stack(Protocol):
    """What bootstrapping reads of the local stack (hookrelay_local.stack.LocalStack, which imports this
    module: a Protocol here keeps the arrow one way)."""

    @property
    def options(self) -> _Options: ...

    def environment(self) -> dict[str, str]: ...


def bootstrap(stack: Stack) -> None:
    stage = stack.options.stage
    clients = Clients()
    ensure_shared(stage, clients, provisioner_settings())  # the stack's environment is set
    bucket = naming.artifact_bucket(stage)
    _ignore(lambda: clients.s3.create_bucket(Bucket=bucket), "BucketAlreadyOwnedByYou", "BucketAlreadyExists")
    ensure_message_body_expiry(bucket, provisioner_settings().messages_ttl_days, clients)
    handler = build_handler_artifact()
    upload_artifact(handler.code.read_bytes(), bucket, clients, layer=handler.layer.read_bytes())
    role = _ensure_role(clients)
    provisioner_key = _upload(clients, bucket, PROVISIONER_APP, build_app_zip(PROVISIONER_APP))
    for consumer in CONSUMERS:  # as the provisioner app deploys them: same queue, batch size, concurrency
        function = _ensure_function(
            clients,
            consumer.function(stage),
            consumer.handler,
            role,
            bucket,
            provisioner_key,
            stack.environment(),
        )
        queue = queue_arn(lookup_queue_url(consumer.queue(stage), clients.sqs), clients)
        _ensure_mapping(
            clients,
            function,
            queue,
            batch_size=consumer.batch_size,
            maximum_concurrency=consumer.maximum_concurrency,
            report_item_failures=True,
        )
    _ensure_function(  # the attempt recorder: invoked by the partners' log groups' subscriptions
        clients,
        recorder_function(stage),
        recorder_handler(),
        role,
        bucket,
        provisioner_key,
        stack.environment(),
    )
    ensure_recorder_wiring(stage, clients)
    inbox_name = stack.environment()["HOOKRELAY_RECEIVER_QUEUE_NAME"]
    inbox_url = (
        find_queue_url(inbox_name, clients) or clients.sqs.create_queue(QueueName=inbox_name)["QueueUrl"]
    )
    _ignore(
        lambda: create_dedup_table(stack.environment()["HOOKRELAY_RECEIVER_TABLE"]), "ResourceInUseException"
    )
    inbox = _ensure_function(
        clients,
        f"sample-receiver-{stage}-inbox",
        INBOX_HANDLER,
        role,
        bucket,
        _upload(clients, bucket, "receiver", build_app_zip("receiver")),
        stack.environment(),
    )
    _ensure_mapping(clients, inbox, queue_arn(inbox_url, clients))
    ensure_console_token(stage, clients)


def ensure_console_token(stage: str, clients: Clients) -> str:
    """The stage's operator console token (docs/console.md), created on first use; `make run` prints it."""
    return ensure_console_secret(stage, clients)


def _ignore(call: Any, *codes: str) -> None:
    try:
        call()
    except Exception as exc:
        if not has_code(exc, *codes):
            raise


def _upload(clients: Clients, bucket: str, app: str, package: Path) -> str:
    key = f"apps/{app}/{package.parent.name}.zip"
    clients.s3.put_object(Bucket=bucket, Key=key, Body=package.read_bytes())
    return key


def _ensure_role(clients: Clients) -> str:
    name = APPS_ROLE
    try:
        return str(clients.iam.get_role(RoleName=name)["Role"]["Arn"])
    except Exception as exc:
        if not has_code(exc, "NoSuchEntity"):
            raise
    created = clients.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    return str(created["Role"]["Arn"])


def _ensure_function(
    clients: Clients, name: str, handler: str, role: str, bucket: str, key: str, env: dict[str, str]
) -> str:
    variables = {k: v for k, v in env.items() if k.startswith("HOOKRELAY_")}
    try:
        return str(clients.lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"])
    except Exception as exc:
        if not has_code(exc, "ResourceNotFoundException"):
            raise
    created = clients.lambda_.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler=handler,
        Timeout=60,
        Code={"S3Bucket": bucket, "S3Key": key},
        Environment={"Variables": variables},
    )
    return str(created["FunctionArn"])


def _ensure_mapping(
    clients: Clients,
    function_arn: str,
    queue: str,
    *,
    batch_size: int = 10,
    maximum_concurrency: int | None = None,
    report_item_failures: bool = False,
) -> None:
    existing = clients.lambda_.list_event_source_mappings(FunctionName=function_arn).get(
        "EventSourceMappings", []
    )
    if any(m.get("EventSourceArn") == queue for m in existing):
        return
    scaling: dict[str, Any] = {}
    if maximum_concurrency is not None:
        scaling["ScalingConfig"] = {"MaximumConcurrency": maximum_concurrency}
    clients.lambda_.create_event_source_mapping(
        FunctionName=function_arn,
        EventSourceArn=queue,
        BatchSize=batch_size,
        Enabled=True,
        FunctionResponseTypes=["ReportBatchItemFailures"] if report_item_failures else [],
        **scaling,
    )
