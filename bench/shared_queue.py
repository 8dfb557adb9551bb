"""The baseline hookrelay replaces: one queue for every partner, one pool of workers draining it.

As in the architecture the Dwolla talk started from: every partner's webhooks wait in a single SQS
queue, and ``workers`` threads each receive a batch (up to 10), deliver its records with
``post_concurrency`` parallel POSTs, and delete what succeeded. Delivery is hookrelay's own record
handler (:func:`hookrelay.delivery.batch.handle_record`: sign, POST, decide, settle) with each partner's
settings, and the attempt records are its log lines, so the work per webhook is the same as in a
partner's Lambda; only the queueing differs.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hookrelay.aws.sqs_event import SqsEvent
from hookrelay.delivery.batch import handle_record
from hookrelay.delivery.deps import HandlerDeps
from hookrelay.delivery.report import RecordOutcome
from hookrelay.delivery.transport import build_transport
from hookrelay.settings import HandlerSettings
from hookrelay.signing.keys import CachedSigningKeys
from hookrelay_local.lambda_runtime.events import sqs_event

logger = logging.getLogger(__name__)


class SharedQueuePool:
    """``workers`` threads on one queue; ``start()``, then ``stop()`` (batches in flight finish)."""

    def __init__(
        self,
        queue_url: str,
        partners: Mapping[str, HandlerSettings],
        sqs: Any,
        secretsmanager: Any,
        *,
        workers: int,
        post_concurrency: int,
    ) -> None:
        self.queue_url = queue_url
        self.partners = dict(partners)
        self.sqs = sqs
        self.post_concurrency = post_concurrency
        self.keys = {
            p: CachedSigningKeys(s.secret_id, s.secret_cache_seconds, secretsmanager=secretsmanager)
            for p, s in self.partners.items()
        }
        self.deleted = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"shared-{n}", daemon=True) for n in range(workers)
        ]

    def start(self) -> SharedQueuePool:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout_s)

    def __enter__(self) -> SharedQueuePool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _work(self) -> None:
        """One worker: its own HTTP connection pool and POST threads, as one server of the old fleet."""
        transport = build_transport(
            next(iter(self.partners.values())).networks, pool_size=self.post_concurrency
        )
        deps = {
            p: HandlerDeps(
                settings=s,
                transport=transport,
                keys=self.keys[p],
                sqs=self.sqs,
            )
            for p, s in self.partners.items()
        }
        with ThreadPoolExecutor(self.post_concurrency, thread_name_prefix="shared-post") as posts:
            while not self._stopping.is_set():
                try:
                    self._one_batch(deps, posts)
                except Exception:
                    logger.exception("shared worker batch failed; its messages reappear")
                    self._stopping.wait(1.0)

    def _one_batch(self, deps: Mapping[str, HandlerDeps], posts: ThreadPoolExecutor) -> None:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        if not messages:
            return
        records = SqsEvent.model_validate(sqs_event(messages, "arn:aws:sqs:::shared", "us-east-1")).records

        def deliver(record: Any) -> RecordOutcome:
            partner = json.loads(record.body)["partner_id"]
            return handle_record(record, deps[partner])

        outcomes = list(posts.map(deliver, records))
        handles = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        done = [
            {"Id": str(i), "ReceiptHandle": handles[o.message_id]} for i, o in enumerate(outcomes) if o.ok
        ]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done)
            with self._lock:
                self.deleted += len(done)
