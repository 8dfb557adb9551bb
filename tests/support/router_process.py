"""The events router as `make run` runs it, in its own process: a process a test can SIGKILL.

``python -m tests.support.router_process --endpoint-url URL`` starts the local Lambda runtime
(:class:`LocalLambdaRuntime`: the poller that honours the mapping's batch size, visibility timeout and
ReportBatchItemFailures) with one invoker, the provisioner app's ``route_events`` (``app.route_events``,
the stack's own wiring), for the functions mapped in moto. AWS and the stage come from the environment.
After every SendMessageBatch the app's SQS client makes it prints ``sent <n>`` (flushed), so a test can
kill it part way through a fan-out. With ``--idle S`` it exits once the events queue has held nothing,
visible or in flight, for S seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import Any

from hookrelay import naming
from hookrelay.aws import clients as aws
from hookrelay_local.bootstrap import ROUTER_HANDLER
from hookrelay_local.chalice_apps import load_app_module
from hookrelay_local.lambda_runtime.poller import PollerOptions
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime

IN_QUEUE = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


class SendCounter:
    """Prints one whole line per SendMessageBatch (the router sends from several threads)."""

    def __init__(self) -> None:
        self.sent, self.lock = 0, threading.Lock()

    def __call__(self, **_: Any) -> None:
        with self.lock:
            self.sent += 1
            sys.stdout.write(f"sent {self.sent}\n")
            sys.stdout.flush()


def queued(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(IN_QUEUE))["Attributes"]
    return sum(int(attributes[name]) for name in IN_QUEUE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument(
        "--idle", type=float, default=0.0, help="exit once the events queue was empty this long"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HOOKRELAY_LOCAL_RUNTIME", "1")
    app = load_app_module("provisioner")
    sqs = aws.client("sqs")  # the client the app's router sends with (one per process)
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", SendCounter())
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    runtime = LocalLambdaRuntime(
        args.endpoint_url,
        region,
        invokers={ROUTER_HANDLER: lambda event, _: app.route_events(event, None)},
        discovery_interval_s=0.2,
        options=PollerOptions(region=region, wait_seconds=1),
    ).start()
    url = sqs.get_queue_url(QueueName=naming.events_queue(os.environ["HOOKRELAY_STAGE"]))["QueueUrl"]
    idle_since = time.monotonic()
    while not args.idle or time.monotonic() - idle_since < args.idle:
        time.sleep(0.5)
        if queued(sqs, url):
            idle_since = time.monotonic()
    runtime.stop(timeout_s=10)
    print("idle", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
