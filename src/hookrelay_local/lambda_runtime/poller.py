"""One event source mapping's poller: receive a batch, invoke the function, delete what succeeded.

One thread per mapping, blocked in a 20 s long poll while the queue is empty (an idle partner costs
one ReceiveMessage per 20 s and no CPU in between; a message sent wakes the long poll at once),
through the lean ``receive.LeanReceiver`` (the real SQS API at half botocore's CPU per call). A stop
does not wait for that long poll: what it receives after the stop is not invoked but given back at once
(ChangeMessageVisibility to 0, best effort: else it reappears after the visibility timeout), so a
mapping disabled and enabled again, or a runtime restarted, does not hide a message for a visibility
timeout (AWS does not document what its pollers do with a poll that ends after a disable). A queue
that does not exist stops the poller (``queue_gone``) without retrying.

Lambda's SQS semantics, as honoured here:

- A batch is at most ``BatchSize`` messages (capped at 10: one ReceiveMessage), gathered for up to
  ``MaximumBatchingWindowInSeconds``. The queue's visibility timeout is never changed (but for what a
  stopping poller gives back, above): whatever is not deleted becomes visible again after it, and the
  queue's own redrive policy counts the receives.
- At most ``min(ScalingConfig.MaximumConcurrency, reserved concurrency)`` batches are in flight (a
  default when neither is set; reserved concurrency 0 means throttled: nothing is received). The poller
  receives only when a slot is free, so no message waits invisibly for a slot.
- With ``ReportBatchItemFailures`` every record but the reported ones is deleted; without it the batch
  is all or nothing. A raise, a run past the function's Timeout, or an unreadable response deletes
  nothing. A timed-out invocation cannot be killed: its thread runs on, its answer is ignored.
- Nothing is ever re-sent or copied: messages only leave the queue by DeleteMessageBatch, with the
  receipt handles of the records the function completed.

FIFO queues (``.fifo``; docs/local-runtime.md says what is emulated and what is not):

- One batch in flight per message group, in order: SQS (moto too) hands out no message of a group
  while another of it is in flight, and a batch holds a group's messages in queue order.
- A failed record keeps every later record of its group on the queue (:func:`~.events.fifo_kept`),
  whatever the function reported after it: a group never resumes past its first failure.
- Short polls: moto's long poll on a FIFO queue does not reliably wake when a message of an unlocked
  group becomes available. After an empty one the poller waits until one of its batches ends (its
  groups are free again), or 10 ms, doubling up to ``fifo_poll_interval_s`` while they stay empty (an
  idle FIFO queue costs five receives a second).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hookrelay.aws.errors import AWS_ERRORS, error_code
from hookrelay.aws.sqs import lookup_queue_url
from hookrelay.errors import NotFound
from hookrelay_local.lambda_runtime.events import (
    InvalidBatchResponse,
    fifo_kept,
    reported_failures,
    sqs_event,
)
from hookrelay_local.lambda_runtime.invokers import FunctionConfig, Invoker
from hookrelay_local.lambda_runtime.receive import LeanReceiver
from hookrelay_local.lambda_runtime.stats import BatchOutcome, InvocationReport, RuntimeStats

logger = logging.getLogger(__name__)

SQS_MAX_BATCH = 10
FIFO_FIRST_IDLE_S = 0.01  # after a FIFO receive with messages, the next empty one waits this long
QUEUE_GONE = frozenset({"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"})


@dataclass(frozen=True)
class MappingConfig:
    """The parts of an SQS event source mapping the runtime honours."""

    uuid: str
    queue_arn: str
    function_arn: str
    enabled: bool = True
    batch_size: int = 10
    batching_window_s: float = 0.0
    report_item_failures: bool = False
    maximum_concurrency: int | None = None

    @classmethod
    def from_api(cls, mapping: Mapping[str, Any]) -> MappingConfig:
        """From one ``ListEventSourceMappings`` entry."""
        scaling = mapping.get("ScalingConfig") or {}
        state = mapping.get("State", "Enabled")
        return cls(
            uuid=mapping["UUID"],
            queue_arn=mapping["EventSourceArn"],
            function_arn=mapping["FunctionArn"],
            enabled=state in ("Enabled", "Enabling", "Updating")
            and mapping.get("Enabled", True) is not False,
            batch_size=int(mapping.get("BatchSize") or 10),
            batching_window_s=float(mapping.get("MaximumBatchingWindowInSeconds") or 0),
            report_item_failures="ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []),
            maximum_concurrency=scaling.get("MaximumConcurrency"),
        )


@dataclass(frozen=True)
class PollerOptions:
    region: str = "us-east-1"
    wait_seconds: int = 20  # long-poll length: an idle poller makes one ReceiveMessage per this long
    default_concurrency: int = 5  # Lambda starts SQS mappings with five concurrent pollers
    error_backoff_s: float = 1.0
    fifo_poll_interval_s: float = 0.2  # an idle FIFO queue is short-polled this often (at most)


class MappingPoller:
    """Polls one mapping's queue on its own thread; batches run on threads of their own."""

    def __init__(
        self,
        mapping: MappingConfig,
        function: FunctionConfig,
        invoker: Invoker,
        sqs: Any,
        receiver: LeanReceiver,
        stats: RuntimeStats,
        options: PollerOptions,
        on_invocation: Callable[[InvocationReport], None] | None = None,
    ) -> None:
        self.mapping = mapping
        self.function = function
        self.invoker = invoker
        self._sqs = sqs
        self._receiver = receiver
        self._stats = stats
        self._options = options
        self._on_invocation = on_invocation
        self._queue_url: str | None = None
        self._stopping = threading.Event()
        self._slots = threading.Condition()
        self._in_flight = 0
        self.queue_gone = False  # the queue does not exist: this poller stopped itself
        self._fifo_idle_s = FIFO_FIRST_IDLE_S  # the wait after an empty short poll of a FIFO queue
        self._thread = threading.Thread(target=self._run, name=f"poll-{function.name}", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> MappingPoller:
        self._thread.start()
        return self

    def update(self, mapping: MappingConfig, function: FunctionConfig, invoker: Invoker) -> None:
        """A changed mapping or function applies to the next batch (a new function version rebuilds deps)."""
        with self._slots:
            self.mapping, self.function, self.invoker = mapping, function, invoker
            self._slots.notify_all()

    def stop(self) -> None:
        """Stop receiving (within one long poll); batches in flight run to completion."""
        self._stopping.set()
        with self._slots:
            self._slots.notify_all()

    def join(self, deadline: float) -> bool:
        """Wait until no batch is in flight, or ``deadline`` (monotonic); True if none is.

        A long poll still open is not waited for: whatever it receives after the stop is not invoked
        but given back (:meth:`_give_back`).
        """
        with self._slots:
            while self._in_flight and time.monotonic() < deadline:
                self._slots.wait(max(0.0, deadline - time.monotonic()))
            return self._in_flight == 0

    @property
    def done(self) -> bool:
        return self._stopping.is_set() and not self._thread.is_alive() and self._in_flight == 0

    @property
    def concurrency(self) -> int:
        limits = [
            n for n in (self.mapping.maximum_concurrency, self.function.reserved_concurrency) if n is not None
        ]
        return min(limits) if limits else self._options.default_concurrency

    # -- polling ---------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._slots:
                while not self._stopping.is_set() and self._in_flight >= self.concurrency:
                    self._slots.wait(0.5)
                if self._stopping.is_set():
                    return
                mapping = self.mapping
            try:
                messages = self._receive(mapping)
            except Exception as exc:
                if self._stopping.is_set():
                    return
                # the runtime says so once and stops asking (NotFound: the URL lookup found no queue)
                if isinstance(exc, NotFound) or error_code(exc) in QUEUE_GONE:
                    self.queue_gone = True
                    self.stop()
                    return
                logger.warning(
                    "cannot receive; retrying",
                    extra={
                        "function": self.function.name,
                        "queue_arn": mapping.queue_arn,
                        "error": repr(exc),
                    },
                )
                self._stopping.wait(self._options.error_backoff_s)
                continue
            if not messages:
                continue
            if self._stopping.is_set():
                self._give_back(mapping, messages)  # received during the last long poll
                return
            with self._slots:
                # The function as it is now: an update that landed during the long poll applies.
                function, invoker = self.function, self.invoker
                self._in_flight += 1
            self._stats.started(function.name)
            threading.Thread(
                target=self._run_batch,
                args=(messages, mapping, function, invoker),
                name=f"batch-{function.name}",
                daemon=True,
            ).start()

    def _queue(self, mapping: MappingConfig) -> str:
        if self._queue_url is None:
            _arn, _aws, _sqs, _region, account, name = mapping.queue_arn.split(":", 5)
            self._queue_url = lookup_queue_url(name, self._sqs, owner=account)
        return self._queue_url

    def _receive(self, mapping: MappingConfig) -> list[dict[str, Any]]:
        wanted = max(1, min(mapping.batch_size, SQS_MAX_BATCH))
        window_ends = time.monotonic() + mapping.batching_window_s
        batch: list[dict[str, Any]] = []
        fifo = mapping.queue_arn.endswith(".fifo")
        wait_seconds = 0 if fifo else self._options.wait_seconds
        while len(batch) < wanted and not self._stopping.is_set():
            try:
                received = self._receiver.receive(self._queue(mapping), wanted - len(batch), wait_seconds)
            except Exception:
                if batch:  # invoke with what was gathered rather than strand it until it times out
                    return batch
                raise
            batch.extend(received)
            # Lambda invokes as soon as it has records, unless a batching window asks it to gather.
            if batch and time.monotonic() >= window_ends:
                break
            if not batch and not received:
                if fifo:  # a short poll came back empty: wait before the next, longer each time, or
                    # until a batch of this mapping ends (its groups are free again) or a stop
                    with self._slots:
                        self._slots.wait(self._fifo_idle_s)
                    self._fifo_idle_s = min(2 * self._fifo_idle_s, self._options.fifo_poll_interval_s)
                break
            self._fifo_idle_s = FIFO_FIRST_IDLE_S
        return batch

    # -- one batch ---------------------------------------------------------------------------------

    def _invoke_and_delete(
        self,
        messages: list[dict[str, Any]],
        mapping: MappingConfig,
        function: FunctionConfig,
        invoker: Invoker,
    ) -> InvocationReport:
        started = time.monotonic()
        ids = tuple(m["MessageId"] for m in messages)
        handles = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        outcome, keep, error = self._invoke(messages, mapping, function, invoker, ids)
        to_delete = [mid for mid in ids if mid not in keep]
        deleted, delete_failures = self._delete(mapping, [(mid, handles[mid]) for mid in to_delete])
        report = InvocationReport(
            function_name=function.name,
            mapping_uuid=mapping.uuid,
            queue_url=self._queue_url or "",
            message_ids=ids,
            deleted=tuple(deleted),
            kept=tuple(mid for mid in ids if mid not in set(deleted)),
            outcome=outcome,
            duration_s=time.monotonic() - started,
            error=error,
        )
        self._stats.finished(report, delete_failures)
        return report

    def _run_batch(
        self,
        messages: list[dict[str, Any]],
        mapping: MappingConfig,
        function: FunctionConfig,
        invoker: Invoker,
    ) -> None:
        try:
            report = self._invoke_and_delete(messages, mapping, function, invoker)
        except Exception:
            # A bug here must not jam the poller: nothing was deleted that was not confirmed, the
            # messages reappear after the visibility timeout, and the slot is given back below.
            logger.exception(
                "batch handling crashed; its messages stay on the queue", extra={"function": function.name}
            )
            return
        finally:
            with self._slots:
                self._in_flight -= 1
                self._slots.notify_all()
        outcome = report.outcome
        if outcome is not BatchOutcome.SUCCESS:
            logger.info(
                "batch not fully processed; the rest stays on the queue",
                extra={"function": function.name, "outcome": outcome.value, "kept": len(report.kept)},
            )
        if self._on_invocation is not None:
            try:
                self._on_invocation(report)
            except Exception:
                logger.exception("on_invocation callback failed", extra={"function": function.name})

    def _invoke(
        self,
        messages: list[dict[str, Any]],
        mapping: MappingConfig,
        function: FunctionConfig,
        invoker: Invoker,
        ids: tuple[str, ...],
    ) -> tuple[BatchOutcome, frozenset[str], str | None]:
        """Run the function on its own thread, bounded by its Timeout; return what stays queued."""
        everything = frozenset(ids)
        event = sqs_event(messages, mapping.queue_arn, self._options.region)
        answer: dict[str, Any] = {}
        finished = threading.Event()

        def call() -> None:
            try:
                answer["response"] = invoker(event, function)
            except BaseException as exc:
                answer["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=call, name=f"invoke-{function.name}", daemon=True).start()
        if not finished.wait(function.timeout):
            logger.error(
                "function timed out; its batch stays on the queue",
                extra={"function": function.name, "timeout_s": function.timeout, "records": len(ids)},
            )
            return BatchOutcome.TIMEOUT, everything, f"Task timed out after {function.timeout:g} seconds"
        if "error" in answer:
            exc = answer["error"]
            logger.error(
                "function raised; its batch stays on the queue",
                extra={"function": function.name, "error": repr(exc), "records": len(ids)},
                exc_info=exc,
            )
            return BatchOutcome.ERROR, everything, f"{type(exc).__name__}: {exc}"
        if not mapping.report_item_failures:
            return BatchOutcome.SUCCESS, frozenset(), None
        try:
            keep = reported_failures(answer.get("response"), ids)
        except InvalidBatchResponse as exc:
            logger.error(
                "invalid partial batch response; its batch stays on the queue",
                extra={"function": function.name, "error": str(exc)},
            )
            return BatchOutcome.INVALID_RESPONSE, everything, str(exc)
        if mapping.queue_arn.endswith(".fifo"):
            keep = fifo_kept(messages, keep)
        return (BatchOutcome.PARTIAL if keep else BatchOutcome.SUCCESS), keep, None

    def _give_back(self, mapping: MappingConfig, messages: list[dict[str, Any]]) -> None:
        """Make messages received but not to be invoked visible again now (best effort: whatever this
        fails to give back reappears after the visibility timeout, as after a crash)."""
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(messages)
        ]
        try:
            self._sqs.change_message_visibility_batch(QueueUrl=self._queue(mapping), Entries=entries)
        except AWS_ERRORS as exc:
            logger.warning(
                "messages received after a stop not given back; they reappear after the visibility timeout",
                extra={"function": self.function.name, "error": error_code(exc)},
            )

    def _delete(self, mapping: MappingConfig, entries: list[tuple[str, str]]) -> tuple[list[str], int]:
        """DeleteMessageBatch exactly these (message id, receipt handle); failed entries retried once."""
        if not entries:
            return [], 0
        pending = dict(entries)
        for attempt in (1, 2):
            batch = [{"Id": str(i), "ReceiptHandle": pending[mid]} for i, mid in enumerate(pending)]
            by_entry = dict(zip((e["Id"] for e in batch), pending, strict=True))
            try:
                response = self._sqs.delete_message_batch(QueueUrl=self._queue(mapping), Entries=batch)
                failed_ids = {by_entry[f["Id"]] for f in response.get("Failed", [])}
            except AWS_ERRORS as exc:
                logger.warning("delete failed", extra={"attempt": attempt, "error": error_code(exc)})
                failed_ids = set(pending)
            pending = {mid: pending[mid] for mid in pending if mid in failed_ids}
            if not pending:
                break
        if pending:
            logger.error(
                "could not delete processed messages; they will be delivered again",
                extra={"function": self.function.name, "message_ids": sorted(pending)},
            )
        deleted = [mid for mid, _ in entries if mid not in pending]
        return deleted, len(pending)
