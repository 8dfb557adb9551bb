"""Ordered (FIFO) partners on a moto server, as the provisioner makes them, and a sink that fails at
random and records what it accepted (the ordering tests and bench/bench_ordered.py share them)."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hookrelay.models import WebhookMessage
from hookrelay.partners.ordering import FIFO_MAX_RECEIVE_COUNT, fifo_send_params
from hookrelay.retry import RetryPolicy
from hookrelay_local.partner_server import Received, Reply
from tests.support.lambda_runtime import LocalAws, Partner, create_partner

# Retries a second apart, twenty of them: a fast schedule whose window outlasts a test's waits.
FAST_POLICY = RetryPolicy(schedule_seconds=tuple(range(1, 21)), jitter=0.0)


def create_fifo_partner(
    aws: LocalAws,
    partner_id: str,
    partner_url: str,
    *,
    policy: RetryPolicy = FAST_POLICY,
    visibility_timeout: int = 2,
    maximum_concurrency: int = 10,
    block_on_failure: bool = False,
    post_concurrency: int = 10,
) -> Partner:
    """A FIFO queue and FIFO DLQ (``.fifo``, no content dedup, maxReceiveCount 1000), secret, handler
    and mapping (batch of 10, partial batch responses) for one ordered partner."""
    return create_partner(
        aws,
        partner_id,
        partner_url,
        visibility_timeout=visibility_timeout,
        max_receive_count=FIFO_MAX_RECEIVE_COUNT,
        maximum_concurrency=maximum_concurrency,
        handler_settings={
            "retry_policy": policy,
            "max_receive_count": FIFO_MAX_RECEIVE_COUNT,
            "block_on_failure": block_on_failure,
            "post_concurrency": post_concurrency,
        },
        fifo=True,
    )


def publish_ordered(
    aws: LocalAws,
    partner: Partner,
    count: int,
    keys: int,
    *,
    delivered: Callable[[], int] | None = None,
    backlog: int = 100,
    ordering: str = "fifo",
) -> dict[str, list[str]]:
    """``count`` webhooks round-robin over ``keys`` ordering keys, each carrying its key and its
    sequence number within the key, sent as the publish path sends them (ten per request, in order).
    Returns each key's webhook ids in publish order. ``ordering="none"``: the same webhooks to an
    unordered partner's standard queue (a baseline).

    With ``delivered`` (how many have arrived so far), at most ``backlog`` wait undelivered before the
    next request: moto's SQS costs grow with queue depth (docs: FIELD-NOTES), a shallow queue keeps a
    test about delivery rather than about moto's scans."""
    published: dict[str, list[str]] = defaultdict(list)
    entries: list[dict[str, Any]] = []
    for n in range(count):
        while delivered is not None and n % 10 == 0 and n - delivered() >= backlog:
            time.sleep(0.02)
        key = f"customer-{n % keys}"
        message = WebhookMessage(
            partner_id=partner.partner_id,
            topic="balance.changed",
            payload={"key": key, "seq": len(published[key])},
        )
        published[key].append(message.id)
        fifo = fifo_send_params(ordering, message.id, key)
        entries.append({"Id": str(len(entries)), "MessageBody": message.to_sqs_body(), **fifo})
        if len(entries) == 10 or n == count - 1:
            response = aws.sqs.send_message_batch(QueueUrl=partner.queue_url, Entries=entries)
            assert not response.get("Failed"), response.get("Failed")
            entries = []
    return dict(published)


@dataclass
class FlakySink:
    """A partner endpoint that answers 500 to ``failure_rate`` of requests (seeded), 200 otherwise,
    and records every accepted (200) webhook: its id, ordering key and sequence number."""

    failure_rate: float = 0.2
    seed: int = 17
    accepted: list[tuple[str, str, int]] = field(default_factory=list)
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def __call__(self, request: Received) -> Reply:
        data = json.loads(request.body)["data"]
        with self._lock:
            if self._random.random() < self.failure_rate:
                self.refused += 1
                return Reply(status=500)
            self.accepted.append((request.headers["webhook-id"], data["key"], int(data["seq"])))
        return Reply()

    def snapshot(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self.accepted)

    def delivered(self) -> int:
        """How many distinct webhooks were accepted."""
        with self._lock:
            return len({webhook_id for webhook_id, _, _ in self.accepted})


def order_report(accepted: list[tuple[str, str, int]]) -> tuple[dict[str, list[int]], int, int]:
    """Per key, the sequence numbers in the order first accepted; how many acceptances were repeats
    (redeliveries of a webhook accepted before); and how many *jumps*: a webhook accepted before
    every earlier webhook of its key had been accepted at least once (a break of order)."""
    per_key: dict[str, list[int]] = defaultdict(list)
    highest: dict[str, int] = defaultdict(lambda: -1)
    seen: set[str] = set()
    repeats = jumps = 0
    for webhook_id, key, seq in accepted:
        if seq > highest[key] + 1:
            jumps += 1
        highest[key] = max(highest[key], seq)
        if webhook_id in seen:
            repeats += 1
            continue
        seen.add(webhook_id)
        per_key[key].append(seq)
    return dict(per_key), repeats, jumps


def strictly_increasing(values: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))
