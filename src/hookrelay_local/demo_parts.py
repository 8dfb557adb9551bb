"""What the demo's scenes share: a counting partner server, and waiting for a condition with a reason."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from hookrelay_local.partner_server import PartnerServer, Received, Reply


class Partner:
    """A partner server answering ``reply`` (its ``delay`` slept first), counting first deliveries' latency
    from ``published`` (webhook id -> publish time), deliveries and duplicates."""

    def __init__(self, name: str, reply: Reply) -> None:
        self.name = name
        self.reply = reply
        self.published: dict[str, float] = {}
        self.received: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.lock = threading.Lock()
        self.server = PartnerServer(self.answer, record=False).start()

    def answer(self, request: Received) -> Reply:
        webhook_id = request.headers.get("webhook-id", "")
        reply = self.reply
        if 200 <= reply.status < 300 and reply.delay:
            time.sleep(reply.delay)
            reply = Reply(status=reply.status)
        with self.lock:
            if 200 <= reply.status < 300:
                if self.received[webhook_id] == 0 and webhook_id in self.published:
                    self.latencies.append(time.time() - self.published[webhook_id])
                self.received[webhook_id] += 1
        return reply

    def delivered(self) -> int:
        with self.lock:
            return sum(1 for webhook_id in self.published if self.received[webhook_id] > 0)

    def duplicates(self) -> int:
        with self.lock:
            return sum(max(0, n - 1) for n in self.received.values())


def wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.5)
