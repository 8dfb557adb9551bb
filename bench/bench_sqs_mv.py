"""sqs-mv against a one-message-at-a-time baseline, on moto's SQS server on loopback, in the same run.

Baseline (Dwolla's sqs-mv algorithm): receive 10 (short poll), then SendMessage + DeleteMessage per
message, until the first empty answer. Ours: hookrelay.mover.engine (receive 10 long poll, SendMessageBatch,
DeleteMessageBatch of the confirmed entries). Both at the same concurrency, on fresh queues of the
same depth. Every SQS request made by the move is counted with a botocore event hook (the queue
lookups included); filling the queues is not. moto's SQS gets slower as a queue gets deeper, so each
run moves a few hundred messages only.

moto also re-reads every queue attribute (which counts the messages: a scan of the whole queue) for
each message it receives (to read the retention period) and for each message it sends (to read
ContentBasedDeduplication). Real SQS has no such per-message cost; on moto it is the same for both
movers and swamps the difference between them. So the bench runs twice: on moto as shipped, then
with those two reads replaced by equivalent O(1) ones (the same attribute, read directly). Both
results are printed.
"""

from __future__ import annotations

import inspect
import logging
import textwrap
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3

from hookrelay.mover.engine import move_messages
from hookrelay.mover.request import MoveRequest
from hookrelay_local.embedded_aws import endpoint_url, start_moto_server

MESSAGES = 300
CONCURRENCY = 4
WAIT_SECONDS = 0  # short polls, as the baseline; the CLI long-polls 5 s (one empty poll more at the end)
TARGET_REQUESTS_PER_MESSAGE = 0.35
TARGET_SPEEDUP = 3.0


def sqs_client(url: str) -> Any:
    """A client for the loopback moto server (fake credentials: it never leaves this machine)."""
    fake = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
    return boto3.client("sqs", endpoint_url=url, region_name="us-east-1", **fake)


class Counted:
    """An SQS client whose every API request is counted (botocore's before-call event)."""

    def __init__(self, url: str) -> None:
        self.client = sqs_client(url)
        self.requests = 0
        self._lock = threading.Lock()
        self.client.meta.events.register("before-call.sqs", self._count)

    def _count(self, **_: Any) -> None:
        with self._lock:
            self.requests += 1


def baseline(sqs: Any, source: str, dest: str) -> int:
    """Dwolla's loop: receive up to 10, then send and delete each message on its own."""
    source_url = sqs.get_queue_url(QueueName=source)["QueueUrl"]
    dest_url = sqs.get_queue_url(QueueName=dest)["QueueUrl"]
    moved = [0] * CONCURRENCY

    def worker(index: int) -> None:
        while True:
            response = sqs.receive_message(QueueUrl=source_url, MaxNumberOfMessages=10, VisibilityTimeout=120)
            messages = response.get("Messages", [])
            if not messages:
                return
            for message in messages:
                sqs.send_message(QueueUrl=dest_url, MessageBody=message["Body"])
                sqs.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
                moved[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(moved)


def ours(sqs: Any, source: str, dest: str) -> int:
    request = MoveRequest(source=source, dest=dest, concurrency=CONCURRENCY, wait_seconds=WAIT_SECONDS)
    return move_messages(request, sqs=sqs).moved


def read_attributes_directly() -> None:
    """Replace moto's two per-message full-queue attribute reads by direct reads of the one attribute."""
    from moto.core.utils import unix_time
    from moto.sqs import models

    def valid(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    models.SQSBackend.is_message_valid_based_on_retention_period = valid
    source = textwrap.dedent(inspect.getsource(models.SQSBackend.send_message))
    scan = 'queue.attributes.get("ContentBasedDeduplication") == "true"'
    direct = 'str(getattr(queue, "content_based_deduplication", "false")).lower() == "true"'
    if scan not in source:
        raise SystemExit("moto's send_message changed: re-check the bench's patch")
    namespace: dict[str, Any] = {}
    exec(compile(source.replace(scan, direct), models.__file__, "exec"), vars(models), namespace)  # noqa: S102
    models.SQSBackend.send_message = namespace["send_message"]


def run(url: str, name: str, mover: Callable[[Any, str, str], int], round_: str) -> tuple[float, float, int]:
    """Fill a fresh queue, move it; return (requests per message, messages per second, duplicates).

    Under concurrent receives moto now and then hands one message to two receivers (real SQS may
    too, rarely): the copies on the destination beyond MESSAGES are reported as duplicates.
    """
    filler = sqs_client(url)
    source, dest = f"bench-{name}-{len(round_)}-src", f"bench-{name}-{len(round_)}-dst"
    source_url = filler.create_queue(QueueName=source)["QueueUrl"]
    filler.create_queue(QueueName=dest)
    for start in range(0, MESSAGES, 10):
        entries = [{"Id": str(i), "MessageBody": f'{{"n": {start + i}}}'} for i in range(10)]
        filler.send_message_batch(QueueUrl=source_url, Entries=entries)
    counted = Counted(url)
    began = time.perf_counter()
    mover(counted.client, source, dest)
    elapsed = time.perf_counter() - began
    left, arrived = count(filler, source_url), count(filler, filler.get_queue_url(QueueName=dest)["QueueUrl"])
    if left or arrived < MESSAGES:
        raise SystemExit(f"{name}: {left} left on the source, {arrived} of {MESSAGES} arrived")
    return counted.requests / MESSAGES, MESSAGES / elapsed, arrived - MESSAGES


def count(sqs: Any, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def compare(url: str, label: str) -> tuple[float, float]:
    """Baseline then ours on fresh queues; print a table; return (request ratio, speedup)."""
    results = {"baseline": run(url, "baseline", baseline, label), "ours": run(url, "ours", ours, label)}
    print(f"{label}\n{'mover':<36}{'requests/message':>18}{'messages/s':>12}{'duplicates':>12}")
    labels = {"baseline": "baseline (send+delete per message)", "ours": "sqs-mv (batches of 10)"}
    for name, (per_message, rate, duplicates) in results.items():
        print(f"{labels[name]:<36}{per_message:>18.3f}{rate:>12.1f}{duplicates:>12}")
    (base_requests, base_rate, _), (our_requests, our_rate, _) = results["baseline"], results["ours"]
    print(f"requests per message: {our_requests:.3f} (target <= {TARGET_REQUESTS_PER_MESSAGE}), "
          f"{base_requests / our_requests:.1f}x fewer than the baseline")  # fmt: skip
    print(f"messages per second: {our_rate / base_rate:.1f}x the baseline (target >= {TARGET_SPEEDUP}x)\n")
    return base_requests / our_requests, our_rate / base_rate


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = start_moto_server()
    url = endpoint_url(server)
    print(f"moto SQS server at {url}; {MESSAGES} messages per run (moto slows as queues deepen);")
    print(f"concurrency {CONCURRENCY} for both; both short-poll (the baseline's way; the CLI long-polls)\n")
    try:
        compare(url, "moto as shipped:")
        read_attributes_directly()
        compare(url, "moto without its per-message queue scans (real SQS has none):")
    finally:
        server.stop()
