"""The isolation benchmark's load: a steady publisher, and a sampler of queue depths.

``publish_steadily`` publishes at a fixed rate (an open loop: event i leaves at start + i / rate,
whatever the answers' speed, on a pool of threads), half of the events to the first partner and the
rest round-robin to the others, each payload stamped with its wall-clock publish time. It sends the
message ``hookrelay.provisioning.publish`` would enqueue straight to a queue: the same path in every scenario.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hookrelay.aws import sqs as queues
from hookrelay.models import WebhookMessage, new_webhook_id

TOPIC = "transfer.created"
Send = Callable[[str, dict[str, Any]], str]  # (partner, payload) -> webhook id


@dataclass(frozen=True)
class Published:
    partner: str
    webhook_id: str
    published_at: float
    call_s: float  # how long the publish call took (the event is queued by the time it answers)


def via_queue(sqs: Any, queue_of: Mapping[str, str]) -> Send:
    """Send the message hookrelay.provisioning.publish would enqueue, straight to the partner's queue in
    ``queue_of`` (partner -> queue URL; the shared baseline maps every partner to one queue)."""

    def send(partner: str, payload: dict[str, Any]) -> str:
        message = WebhookMessage(id=new_webhook_id(), partner_id=partner, topic=TOPIC, payload=payload)
        queues.send_message(queue_of[partner], message.to_sqs_body(), sqs=sqs)
        return message.id

    return send


def publish_steadily(
    send: Send, tag: str, partners: Sequence[str], rate: float, duration_s: float, skip_first: bool = False
) -> list[Published]:
    """Publish ``rate`` events a second for ``duration_s``: half to ``partners[0]`` (none if
    ``skip_first``: its slots stay empty, so the others get exactly the same schedule)."""
    others = partners[1:]

    def one(seq: int) -> Published:
        partner = partners[0] if seq % 2 == 0 else others[(seq // 2) % len(others)]
        published_at = time.time()
        payload = {"published_at": published_at, "tag": tag, "seq": seq}
        webhook_id = send(partner, payload)
        return Published(partner, webhook_id, published_at, time.time() - published_at)

    futures: list[Future[Published]] = []
    with ThreadPoolExecutor(16, thread_name_prefix="publish") as pool:
        start = time.monotonic()
        for seq in range(int(rate * duration_s)):
            if skip_first and seq % 2 == 0:
                continue
            time.sleep(max(0.0, start + seq / rate - time.monotonic()))
            futures.append(pool.submit(one, seq))
    return [f.result() for f in futures]


def cpu_seconds(marker: str | None = None) -> float:
    """CPU time (user + system) of this process, or of its child whose command line holds ``marker``."""
    if marker is None:
        return time.process_time()
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] == me and marker in (stat.parent / "cmdline").read_text():
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            continue
    return float("nan")


class DepthMonitor:
    """Samples queue depths (visible + in flight) every second; ``maxima`` by group of queues."""

    def __init__(self, sqs: Any, groups: dict[str, list[str]], interval_s: float = 1.0) -> None:
        self.sqs = sqs
        self.groups = groups
        self.interval_s = interval_s
        self.maxima = dict.fromkeys(groups, 0)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="depth-monitor", daemon=True)

    def _depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            for group, urls in self.groups.items():
                self.maxima[group] = max(self.maxima[group], *(self._depth(u) for u in urls))

    def __enter__(self) -> DepthMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join()
