"""Fan-out (issue 14): one published event to 1,000 subscribed partners, on moto's server on loopback
(in its own process, as AWS is: a network service, not our GIL).

Measured in the same run, on the same 1,000 partner queues (emptied between runs, so every run sends to
shallow queues: moto's SQS slows as a queue deepens):

- baseline: a bare loop of SendMessageBatch, one partner queue after another, each with the webhook body
  already built (no index read, no body building, no threads): the cost of the sends alone;
- the router (:class:`hookrelay.provisioning.events.router.Router`) on one event: the index read (one
  DynamoDB Query per candidate pattern, paginated), one GetQueueUrl (the events queue's, from which every
  partner queue URL is derived), a body per partner, and one SendMessageBatch per partner queue over
  ``HOOKRELAY_ROUTER_THREADS`` threads;
- the router on a batch of ten events: still one SendMessageBatch per partner queue, ten entries each.

"Seconds until every partner queue holds it": from the call until every send is confirmed (each queue's
depth is checked afterwards, not timed). Requests are counted with botocore's before-call event.

The floor, honestly: SendMessageBatch targets ONE queue, so one event to N partner queues needs N sends
(1.0 SQS requests per partner) however it is batched; only several events bound for the same queue share
a request (ten a request: 0.1 per partner-event). The 0.12 target is met per partner-event at ten events a
batch; a single event costs 1.0 per partner plus the index read.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from bench.receivers import moto_process
from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.provisioning.events.body import webhook_body, webhook_message
from hookrelay.provisioning.events.model import Event
from hookrelay.provisioning.events.queues import PartnerQueues
from hookrelay.provisioning.events.router import Router
from hookrelay.provisioning.events.subscriptions import SubscriptionIndex
from tests.support.events import create_subscription_table

PARTNERS = 1000
STAGE = "bench"
THREADS = 16
TARGET_REQUESTS_PER_PARTNER = 0.12
TARGET_SPEED = 0.8  # the router's speed relative to the bare loop's


class Counted:
    """Clients of the loopback moto server whose every API request is counted."""

    def __init__(self, url: str) -> None:
        fake = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench", "region_name": "us-east-1"}
        self.sqs = boto3.client("sqs", endpoint_url=url, **fake)
        self.dynamodb = boto3.client("dynamodb", endpoint_url=url, **fake)
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        for client in (self.sqs, self.dynamodb):
            client.meta.events.register("before-call.*.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] = self.calls.get(model.name, 0) + 1

    def reset(self) -> None:
        with self._lock:
            self.calls = {}

    def clients(self) -> Clients:
        return Clients(overrides={"sqs": self.sqs, "dynamodb": self.dynamodb})


def build(counted: Counted) -> dict[str, str]:
    """The events queue, the index table with 1,000 partners (4 kinds of subscription), their queues."""
    create_subscription_table(counted.dynamodb, STAGE)
    counted.sqs.create_queue(QueueName=naming.events_queue(STAGE))
    index = SubscriptionIndex.of_stage(STAGE, counted.clients())
    kinds: list[list[str]] = [["invoice.*"], ["invoice.paid"], ["*"], []]
    urls = {}
    for n in range(PARTNERS):
        pid = f"p{n:04d}"
        urls[pid] = counted.sqs.create_queue(QueueName=naming.partner_queue(STAGE, pid))["QueueUrl"]
        index.file(pid, kinds[n % 4])
    return urls


def empty(counted: Counted, urls: dict[str, str]) -> None:
    """Receive and delete what each queue holds (PurgeQueue is allowed once a minute per queue)."""
    for url in urls.values():
        while True:
            got = counted.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                break
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
            counted.sqs.delete_message_batch(QueueUrl=url, Entries=entries)


def depths(counted: Counted, urls: dict[str, str]) -> list[int]:
    attribute = "ApproximateNumberOfMessages"
    return [
        int(counted.sqs.get_queue_attributes(QueueUrl=u, AttributeNames=[attribute])["Attributes"][attribute])
        for u in urls.values()
    ]


def bare_loop(counted: Counted, urls: dict[str, str], event: Event) -> float:
    bodies = {
        pid: webhook_body(webhook_message(event.id, pid, event.topic, event.payload, event.created_at))
        for pid in urls
    }
    counted.reset()
    start = time.perf_counter()
    for pid, url in urls.items():
        counted.sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "0", "MessageBody": bodies[pid]}])
    return time.perf_counter() - start


def bare_threads(counted: Counted, urls: dict[str, str], event: Event) -> float:
    """The bare loop spread over the router's thread count: what parallel sends alone can reach."""
    body = {pid: webhook_body(webhook_message(event.id, pid, event.topic, event.payload)) for pid in urls}
    counted.reset()
    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(
            pool.map(
                lambda item: counted.sqs.send_message_batch(
                    QueueUrl=item[1], Entries=[{"Id": "0", "MessageBody": body[item[0]]}]
                ),
                urls.items(),
            )
        )
    return time.perf_counter() - start


def routed(counted: Counted, events: list[Event]) -> float:
    clients = counted.clients()
    router = Router(
        clients, SubscriptionIndex.of_stage(STAGE, clients), PartnerQueues(STAGE, clients), threads=THREADS
    )
    records = [{"messageId": f"m{i}", "body": e.model_dump_json()} for i, e in enumerate(events)]
    counted.reset()
    start = time.perf_counter()
    answer = router.route({"Records": records})
    elapsed = time.perf_counter() - start
    assert answer == {"batchItemFailures": []}, answer
    return elapsed


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("hookrelay").setLevel(logging.WARNING)
    with moto_process() as url:
        counted = Counted(url)
        urls = build(counted)
        print(f"moto server at {url}; {PARTNERS} partner queues, all subscribed to invoice.paid (4 ways)")
        one = Event(id="evt_bench_1", topic="invoice.paid", payload={"amount": 100})
        base = bare_loop(counted, urls, one)
        print(f"bare SendMessageBatch loop (serial): {base:.2f} s, {counted.calls}")
        assert min(depths(counted, urls)) == 1
        empty(counted, urls)
        single = routed(counted, [one])
        calls = dict(counted.calls)
        assert min(depths(counted, urls)) == 1
        sqs_requests = sum(v for k, v in calls.items() if k != "Query")
        print(f"router, one event ({THREADS} threads): {single:.2f} s, {calls}")
        print(
            f"  {sqs_requests / PARTNERS:.3f} SQS requests per partner (+{calls.get('Query', 0)} index "
            f"Queries; floor 1.0: SendMessageBatch targets one queue);"
        )
        print(f"  speed {base / single:.2f}x the bare loop's (target >= {TARGET_SPEED})")
        empty(counted, urls)
        parallel = bare_threads(counted, urls, one)
        assert min(depths(counted, urls)) == 1
        print(
            f"bare SendMessageBatch loop over {THREADS} threads: {parallel:.2f} s; the router is "
            f"{parallel / single:.2f}x its speed"
        )
        empty(counted, urls)
        ten = [Event(id=f"evt_bench_{i}", topic="invoice.paid", payload={"amount": i}) for i in range(10)]
        batch = routed(counted, ten)
        calls = dict(counted.calls)
        assert min(depths(counted, urls)) == 10
        per = sum(v for k, v in calls.items() if k != "Query") / (PARTNERS * len(ten))
        print(f"router, a batch of ten events: {batch:.2f} s, {calls}")
        print(
            f"  {per:.3f} SQS requests per partner-event (target <= {TARGET_REQUESTS_PER_PARTNER}); "
            f"{batch / len(ten):.3f} s per event"
        )


if __name__ == "__main__":
    main()
