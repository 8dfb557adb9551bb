"""The count every fault case ends with: each published webhook delivered, queued or dead-lettered; none lost.

Three sources, none of them consumed:

- what the partner acknowledged: :meth:`Ledger.partner` wraps a partner server's behaviour and notes every
  clean 2xx answer (not a hang, a reset, a cut-off status line, or an answer slower than the read timeout);
- the partner queue(s) and dead-letter queue(s), read from moto's backend in this process (moto's server runs
  in the test process). Peeking with ``receive_message`` would raise ``ApproximateReceiveCount`` and could
  itself redrive what it looks at.

A webhook is *delivered* if the partner acknowledged it, else *dead-lettered* if it is on a dead-letter queue
(with its ``HookrelayDeadLetterReason``), else *queued* if it is on a partner queue (visible, delayed or in
flight), else *lost*. Poison bodies that carry no webhook id are tracked by their raw body.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from hookrelay.aws.sqs import REASON_ATTRIBUTE
from hookrelay_local.embedded_aws import queue_messages
from hookrelay_local.partner_server import Behaviour, Received, Reply

STATUS_LINE_BYTES = len(b"HTTP/1.1 200 OK\r\n")


@dataclass(frozen=True)
class Count:
    delivered: int = 0
    queued: int = 0
    dead_lettered: int = 0
    lost: int = 0


@dataclass(frozen=True)
class Parked:
    """A message as it sits on a queue."""

    queue: str
    body: str
    attributes: dict[str, str]
    in_flight: bool

    @property
    def reason(self) -> str | None:
        return self.attributes.get(REASON_ATTRIBUTE)

    @property
    def webhook(self) -> dict[str, Any] | None:
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


def peek(queue_url: str, region: str = "us-east-1") -> list[Parked]:
    """Every message on a queue of the moto in this process (visible, delayed or in flight), unreceived."""
    return parked(queue_url, queue_messages(queue_url, region))


def parked(queue_url: str, messages: list[dict[str, Any]]) -> list[Parked]:
    """:class:`Parked` messages from :func:`hookrelay_local.embedded_aws.queue_messages`' dicts."""
    name = urlsplit(queue_url).path.rstrip("/").rsplit("/", 1)[-1]
    return [Parked(name, m["body"], m["attributes"], m["in_flight"]) for m in messages]


def acknowledges(reply: Reply, read_timeout: float) -> bool:
    """Whether the handler sees ``reply`` as a 2xx from the partner."""
    if reply.hang or reply.reset or reply.delay >= read_timeout or not 200 <= reply.status < 300:
        return False
    return reply.cut_after is None or reply.cut_after >= STATUS_LINE_BYTES


@dataclass
class Ledger:
    queues: list[str]
    dead_letter_queues: list[str]
    read_timeout: float = 5.0
    peeker: Callable[[str], list[Parked]] = peek  # how a queue is read: moto in this process by default
    interval: float = 0.1  # how often settle and quiet look
    published: list[str] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    acknowledged: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _known: set[str] = field(default_factory=set)

    def add(self, keys: Iterable[str]) -> list[str]:
        """Track webhook ids (or raw poison bodies) as published."""
        keys = list(keys)
        self.published.extend(keys)
        self._known.update(keys)
        return keys

    def partner(self, behaviour: Behaviour) -> Behaviour:
        """``behaviour``, noting each attempt and each acknowledgement by webhook id."""

        def answer(request: Received) -> Reply:
            reply = behaviour(request)
            webhook_id = request.headers.get("webhook-id", "")
            with self._lock:
                self.attempts[webhook_id] += 1
                if acknowledges(reply, self.read_timeout):
                    self.acknowledged[webhook_id] += 1
            return reply

        return answer

    def key(self, parked: Parked) -> str:
        webhook = parked.webhook
        if webhook is not None and webhook.get("id") in self._known:
            return str(webhook["id"])
        return parked.body

    def on_queues(self) -> dict[str, list[Parked]]:
        return self._index(self.queues)

    def dead_letters(self) -> dict[str, list[Parked]]:
        return self._index(self.dead_letter_queues)

    def _index(self, queue_urls: list[str]) -> dict[str, list[Parked]]:
        found: dict[str, list[Parked]] = {}
        for url in queue_urls:
            for message in self.peeker(url):
                found.setdefault(self.key(message), []).append(message)
        return found

    def reasons(self) -> Counter[str]:
        """Dead-letter reasons of the published messages that :meth:`count` counts dead-lettered, one per
        message. A partner may have acknowledged a webhook whose attempt the handler still saw fail (the
        answer came just past its read timeout on a loaded machine) and later dead-lettered: ``count``
        calls it delivered, so it has no reason here either (the soak once saw 66 reasons for 65)."""
        letters = self.dead_letters()
        with self._lock:
            acknowledged = {k for k, n in self.acknowledged.items() if n}
        return Counter(
            str(letters[k][0].reason) for k in self.published if k in letters and k not in acknowledged
        )

    def count(self) -> Count:
        """Read in the order a webhook moves (partner queue, then dead-letter queue or acknowledged), so a
        webhook moving while the count reads is seen at least once, never counted lost for a moment."""
        queued = self.on_queues()
        letters = self.dead_letters()
        with self._lock:
            acknowledged = {k for k, n in self.acknowledged.items() if n}
        tally: Counter[str] = Counter()
        for key in self.published:
            if key in acknowledged:
                tally["delivered"] += 1
            elif key in letters:
                tally["dead_lettered"] += 1
            elif key in queued:
                tally["queued"] += 1
            else:
                tally["lost"] += 1
        return Count(**tally)

    def in_flight(self) -> int:
        """Messages received and not yet deleted, on every queue the ledger watches."""
        return sum(p.in_flight for url in [*self.queues, *self.dead_letter_queues] for p in self.peeker(url))

    def settle(self, expected: Count, timeout: float = 60.0) -> Count:
        """Wait until the count is ``expected`` with nothing in flight; return it (or fail)."""
        return self._wait(lambda count: count == expected, f"never became {expected}", timeout)

    def quiet(self, timeout: float = 60.0) -> Count:
        """Wait until nothing is queued or in flight (every webhook delivered or dead-lettered); the count."""
        return self._wait(lambda count: count.queued == 0, "never stopped moving", timeout)

    def _wait(self, done: Callable[[Count], bool], failure: str, timeout: float) -> Count:
        deadline = time.monotonic() + timeout
        while True:
            count, busy = self.count(), self.in_flight()
            if done(count) and not busy:
                return count
            if time.monotonic() > deadline:
                raise AssertionError(f"count {count} ({busy} in flight) {failure}")
            time.sleep(self.interval)
