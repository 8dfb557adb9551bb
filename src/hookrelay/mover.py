"""sqs-mv's engine: move messages between SQS queues, streaming, ten at a time, losing nothing.

Each worker loops: receive up to 10 (long poll) -> SendMessageBatch -> DeleteMessageBatch of exactly
the entries whose send SQS confirmed. A message is never deleted before its copy exists. Messages that
are not moved (skipped by a filter, failed, or seen by a dry run) are *held* invisible until the run
ends, then released, so one run sees each message once and leaves every one of them visible again.

The run stops when the source is drained (an empty long poll while the approximate count is 0, or
``empty_polls`` empty polls in a row), at the limit, at the deadline, on a fatal error, or when
``stop`` is set (Ctrl-C); a batch in flight is always finished first.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hookrelay import aws
from hookrelay.errors import HookrelayError, InvalidInput, NotFound, PermissionDenied
from hookrelay.mover_batch import delete_messages, release, send_confirmed
from hookrelay.mover_messages import Outgoing, origin_of, outgoing
from hookrelay.mover_queues import QueueInfo, approximate_count, domain_error, resolve_queue
from hookrelay.mover_queues import single_source_queue as dlq_source
from hookrelay.mover_request import SQS_BATCH, MoveReport, MoveRequest, Sample, StopReason
from hookrelay.queues import queue_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MovePlan:
    request: MoveRequest
    source: QueueInfo
    dest: QueueInfo | None
    fallback_origin: str | None = None


def prepare_move(request: MoveRequest, sqs: Any | None = None) -> MovePlan:
    """Resolve the queues; raises NotFound, PermissionDenied, or InvalidInput (source == dest)."""
    source = resolve_queue(request.source, sqs)
    dest = resolve_queue(request.dest, sqs) if request.dest else None
    if dest is not None and dest.arn == source.arn:
        raise InvalidInput(f"source and dest are the same queue ({source.name})")
    fallback = dlq_source(source.url, sqs) if request.to_origin else None
    return MovePlan(request, source, dest, fallback)


def move_messages(
    request: MoveRequest,
    sqs: Any | None = None,
    stop: threading.Event | None = None,
    deadline: float | None = None,
) -> MoveReport:
    """Prepare and run a move; ``deadline`` is a time.monotonic() after which no batch starts."""
    return Mover(prepare_move(request, sqs), sqs, stop, deadline).run()


class Mover:
    def __init__(
        self,
        plan: MovePlan,
        sqs: Any | None = None,
        stop: threading.Event | None = None,
        deadline: float | None = None,
    ) -> None:
        self.plan, self.request = plan, plan.request
        self.sqs = sqs or aws.client("sqs")
        self.stop = stop or threading.Event()
        self.deadline = deadline
        dest = plan.dest.name if plan.dest else None
        self.report = MoveReport(source=plan.source.name, dest=dest, dry_run=self.request.dry_run)
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._held: dict[str, str] = {}
        self._claimed = self._counted = self._empty_streak = self._receive_errors = 0
        self._refused: dict[str, str] = {}
        self._started = time.monotonic()

    def snapshot(self) -> MoveReport:
        with self._lock:
            return self.report.model_copy(deep=True, update={"elapsed_seconds": self._elapsed()})

    def run(self) -> MoveReport:
        try:
            with ThreadPoolExecutor(self.request.concurrency, thread_name_prefix="sqs-mv") as pool:
                for worker in [pool.submit(self._worker) for _ in range(self.request.concurrency)]:
                    worker.result()
        finally:
            release(self.sqs, self.plan.source.url, self._held.values())
        if self.report.stop_reason is None:
            self.report.stop_reason = StopReason.INTERRUPTED
        self.report.elapsed_seconds = self._elapsed()
        logger.info("move finished", extra=self.report.model_dump(mode="json", exclude={"samples"}))
        return self.report

    def _elapsed(self) -> float:
        return round(time.monotonic() - self._started, 3)

    def _finish(self, reason: StopReason, error: HookrelayError | str | None = None) -> None:
        with self._lock:
            if self.report.stop_reason is None:
                self.report.stop_reason = reason
                if isinstance(error, NotFound | PermissionDenied):
                    self.report.fatal = error.code
            if error is not None:
                self.report.note_error(error.message if isinstance(error, HookrelayError) else error)
        self._halt.set()

    def _stopping(self) -> bool:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self._finish(StopReason.DEADLINE)
        return self._halt.is_set() or self.stop.is_set()

    def _worker(self) -> None:
        try:
            while not self._stopping():
                want = self._claim()
                if want == 0:
                    time.sleep(0.05)
                    continue
                counted = 0
                try:
                    messages = self._receive(want)
                    if messages:
                        counted = self._process(messages)
                    elif messages is not None:
                        self._after_empty()
                finally:
                    with self._lock:
                        self._claimed -= want
                        self._counted += counted
        except Exception as exc:
            logger.exception("sqs-mv worker failed")
            self._finish(StopReason.ERROR, f"unexpected error: {type(exc).__name__}: {exc}")

    def _claim(self) -> int:
        """How many messages this worker may receive now (the limit is shared by every worker)."""
        with self._lock:
            if self.request.limit is None:
                return SQS_BATCH
            free = self.request.limit - self._counted - self._claimed
            if free > 0:
                self._claimed += min(SQS_BATCH, free)
                return min(SQS_BATCH, free)
            reached = self._claimed == 0
        if reached:
            self._finish(StopReason.LIMIT)
        return 0

    def _receive(self, want: int) -> list[dict[str, Any]] | None:
        try:
            response = self.sqs.receive_message(
                QueueUrl=self.plan.source.url,
                MaxNumberOfMessages=want,
                WaitTimeSeconds=self.request.wait_seconds,
                VisibilityTimeout=self.request.visibility_timeout,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
            )
        except aws.AWS_ERRORS as exc:
            error = domain_error(exc, self.plan.source.url, "receive messages")
            with self._lock:
                self._receive_errors += 1
                errors = self._receive_errors
            if isinstance(error, NotFound | PermissionDenied) or errors >= 3:
                self._finish(StopReason.ERROR, error)
            else:
                time.sleep(0.5 * errors)
            return None
        messages: list[dict[str, Any]] = response.get("Messages", [])
        if messages:
            with self._lock:
                self._receive_errors = self._empty_streak = 0
        return messages

    def _after_empty(self) -> None:
        with self._lock:
            self._empty_streak += 1
            streak = self._empty_streak
        if streak >= self.request.empty_polls:
            self._finish(StopReason.DRAINED)
            return
        try:
            left = approximate_count(self.plan.source.url, self.sqs)
        except HookrelayError:
            return
        if left == 0:
            self._finish(StopReason.DRAINED)

    def _destination(self, message: dict[str, Any]) -> str | None:
        if self.plan.dest is not None:
            return self.plan.dest.url
        origin = origin_of(message)
        if origin and queue_name(origin) != self.plan.source.name:
            return origin
        return self.plan.fallback_origin

    def _hold(self, message: dict[str, Any], reason: str | None = None) -> None:
        with self._lock:
            self._held[message["MessageId"]] = message["ReceiptHandle"]
            if reason is not None:
                self.report.failed += 1
                self.report.note_error(reason)
        if reason is not None:
            logger.warning("not moved", extra={"message_id": message["MessageId"], "reason": reason})

    def _process(self, messages: list[dict[str, Any]]) -> int:
        """Move one received batch; return how many count against the limit."""
        request, items = self.request, []
        for message in messages:
            with self._lock:
                if message["MessageId"] in self._held:  # held earlier, visible again: keep holding
                    self._held[message["MessageId"]] = message["ReceiptHandle"]
                    continue
            if not all(f.matches(message) for f in request.filters):
                self._hold(message)
                with self._lock:
                    self.report.skipped += 1
                continue
            dest = self._destination(message)
            if dest is None:
                self._hold(message, f"no origin queue for {message['MessageId']} and no single DLQ source")
                continue
            items.append(outgoing(message, dest, reset_attempts=request.reset_attempts))
        if request.dry_run:
            for item in items:
                self._hold({"MessageId": item.message_id, "ReceiptHandle": item.receipt_handle})
            self._record(items, moved=False)
            return len(items)
        counted = 0
        for dest in dict.fromkeys(item.dest for item in items):
            counted += self._send(dest, [item for item in items if item.dest == dest])
        return counted

    def _send(self, dest: str, items: list[Outgoing]) -> int:
        refused = self._refused.get(dest)
        if refused is not None:
            failures = [(item, refused) for item in items]
            confirmed: list[Outgoing] = []
        else:
            result = send_confirmed(self.sqs, dest, items, self.request.send_attempts)
            failures, confirmed = result.failed, result.confirmed
            if result.fatal is not None:
                self._refused[dest] = result.fatal
                if not self.request.to_origin:
                    self._finish(StopReason.ERROR, result.fatal)
        for item, reason in failures:
            self._hold({"MessageId": item.message_id, "ReceiptHandle": item.receipt_handle}, reason)
        not_deleted = delete_messages(self.sqs, self.plan.source.url, confirmed)
        with self._lock:
            self.report.not_deleted += len(not_deleted)
        self._record(confirmed, moved=True)
        return len(confirmed)

    def _record(self, items: list[Outgoing], moved: bool) -> None:
        with self._lock:
            report = self.report
            for item in items:
                report.moved += moved
                report.would_move += not moved
                report.reset += item.reset
                report.not_webhook += item.not_webhook
                name = queue_name(item.dest)
                report.per_dest[name] = report.per_dest.get(name, 0) + 1
                if not moved and len(report.samples) < 10:
                    body = item.entry["MessageBody"]
                    attributes = sorted(item.entry.get("MessageAttributes", {}))
                    report.samples.append(
                        Sample(message_id=item.message_id, dest=name, body=body[:200], attributes=attributes)
                    )
