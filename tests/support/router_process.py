"""The events router in its own process, fed as Lambda's SQS mapping would feed it: a process to SIGKILL.

``python -m tests.support.router_process`` reads the stage's events queue (``HOOKRELAY_STAGE``, AWS from
the environment), hands each batch to :meth:`Router.route` and deletes the records it did not report as
failed, until the queue has stayed empty for ``--idle`` seconds. After every SendMessageBatch it prints
``sent <n>`` (flushed), so a test can kill it part way through a fan-out.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

from hookrelay import naming
from hookrelay.aws.clients import Clients, client
from hookrelay.provisioning.events.router import Router


class CountingSqs:
    """The SQS client, printing a line after each confirmed SendMessageBatch."""

    def __init__(self, real: Any) -> None:
        self.real, self.sent, self.lock = real, 0, threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def send_message_batch(self, **kwargs: Any) -> Any:
        answer = self.real.send_message_batch(**kwargs)
        with self.lock:  # the router sends from several threads: one whole line each
            self.sent += 1
            sys.stdout.write(f"sent {self.sent}\n")
            sys.stdout.flush()
        return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--idle", type=float, default=3.0, help="exit once the queue was empty this long")
    args = parser.parse_args(argv)
    sqs = CountingSqs(client("sqs"))
    clients = Clients(overrides={"sqs": sqs})
    router = Router.of_stage(args.stage, clients)
    url = sqs.get_queue_url(QueueName=naming.events_queue(args.stage))["QueueUrl"]
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < args.idle:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = batch.get("Messages", [])
        if not messages:
            continue
        records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
        answer = router.route({"Records": records})
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        print(f"batch {len(messages)} failed {len(failed)}", flush=True)
        idle_since = time.monotonic()
    return 0


if __name__ == "__main__":
    sys.exit(main())
