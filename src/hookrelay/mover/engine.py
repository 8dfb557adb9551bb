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
from typing import TYPE_CHECKING, Any, cast

from hookrelay.aws import clients as aws
from hookrelay.aws.errors import AWS_ERRORS
from hookrelay.aws.sqs import ORIGIN_ATTRIBUTE, queue_name
from hookrelay.aws.sqs_visibility import release
from hookrelay.errors import HookrelayError
from hookrelay.mover.batch import delete_messages, send_confirmed
from hookrelay.mover.messages import Outgoing, fifo_rounds, group_of, is_fifo, origin_of, outgoing
from hookrelay.mover.plan import MovePlan, prepare_move
from hookrelay.mover.queues import approximate_count, domain_error, is_fatal
from hookrelay.mover.request import MoveReport, MoveRequest, StopReason
from hookrelay.mover.state import RunState

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)
EARLIER_NOT_MOVED = "an earlier message of its FIFO group could not be moved: left, to keep the order"
NO_ORIGIN = f"no origin: no {ORIGIN_ATTRIBUTE} attribute, and not exactly one queue uses this DLQ"


@dataclass(frozen=True)
class Held:
    message_id: str
    receipt_handle: str


def move_messages(
    request: MoveRequest,
    sqs: SQSClient | None = None,
    stop: threading.Event | None = None,
    deadline: float | None = None,
) -> MoveReport:
    """Prepare and run a move; ``deadline`` is a time.monotonic() after which no batch starts."""
    return Mover(prepare_move(request, sqs), sqs, stop, deadline).run()


class Mover:
    def __init__(
        self,
        plan: MovePlan,
        sqs: SQSClient | None = None,
        stop: threading.Event | None = None,
        deadline: float | None = None,
    ) -> None:
        self.plan, self.request = plan, plan.request
        self.sqs = sqs or aws.client("sqs")
        self.stop = stop or threading.Event()
        self.deadline = deadline
        dest = plan.dest.name if plan.dest else None
        self.state = RunState(MoveReport(source=plan.source.name, dest=dest, dry_run=plan.request.dry_run),
                              plan.request.limit)  # fmt: skip
        self._refused: dict[str, str] = {}  # destination URL -> why it refuses every message
        self._started = time.monotonic()

    @property
    def report(self) -> MoveReport:
        return self.state.report

    def snapshot(self) -> MoveReport:
        return self.state.snapshot(self._elapsed())

    def run(self) -> MoveReport:
        # A FIFO source is moved by one worker: SQS hands out no group while another worker holds it,
        # so more workers would only see empty receives (and take the queue for drained).
        workers = 1 if self.plan.source.fifo else self.request.concurrency
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="sqs-mv") as pool:
                for worker in [pool.submit(self._worker) for _ in range(workers)]:
                    worker.result()
        finally:
            release(self.plan.source.url, self.state.held.values(), self.sqs)
        if self.report.stop_reason is None:
            self.report.stop_reason = StopReason.INTERRUPTED
        self.report.elapsed_seconds = self._elapsed()
        logger.info("move finished", extra=self.report.model_dump(mode="json", exclude={"samples"}))
        return self.report

    def _elapsed(self) -> float:
        return round(time.monotonic() - self._started, 3)

    def _stopping(self) -> bool:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.state.finish(StopReason.DEADLINE)
        return self.state.halt.is_set() or self.stop.is_set()

    def _worker(self) -> None:
        try:
            while not self._stopping():
                want = self.state.claim()
                if want == 0:
                    time.sleep(0.05)
                    continue
                counted = 0
                try:
                    messages = self._receive(want)
                    if messages:
                        counted = self._process(messages)
                finally:
                    self.state.settle(want, counted)
        except Exception as exc:
            logger.exception("sqs-mv worker failed")
            self.state.finish(StopReason.ERROR, f"unexpected error: {type(exc).__name__}: {exc}")

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
        except AWS_ERRORS as exc:
            error = domain_error(exc, self.plan.source.url, "receive messages")
            errors = self.state.receive_failed()
            if is_fatal(error) or errors >= 3:
                self.state.finish(StopReason.ERROR, error)
            else:
                time.sleep(0.5 * errors)
            return None
        # The mover reads messages as plain dicts (filters, tests and the CLI's samples build them too).
        messages = cast("list[dict[str, Any]]", response.get("Messages", []))
        empty_streak = self.state.received(len(messages))
        drained = empty_streak >= self.request.empty_polls or (empty_streak and self._left() == 0)
        if drained:  # several empty long polls in a row, or one while the queue counts none
            self.state.finish(StopReason.DRAINED)
        return messages

    def _left(self) -> int | None:
        try:
            return approximate_count(self.plan.source.url, self.sqs)
        except HookrelayError:
            return None

    def _destination(self, message: dict[str, Any]) -> str | None:
        if self.plan.dest is not None:
            return self.plan.dest.url
        origin = origin_of(message)
        if origin and queue_name(origin) != self.plan.source.name:
            return origin
        return self.plan.fallback_origin

    def _process(self, messages: list[dict[str, Any]]) -> int:
        """Move one received batch; return how many count against the limit."""
        request, state, items = self.request, self.state, []
        for message in messages:
            message_id, handle = message["MessageId"], message["ReceiptHandle"]
            if state.rehold(message_id, handle):  # held earlier and visible again: keep holding
                continue
            if state.was_sent(message_id):  # its copy exists, its delete failed: delete it, never re-send
                self._delete_again(message_id, handle)
                continue
            if not all(f.matches(message) for f in request.filters):
                state.hold(message_id, handle, skipped=True)
                continue
            dest = self._destination(message)
            if dest is None:
                state.hold(message_id, handle, NO_ORIGIN)
                continue
            items.append(outgoing(message, dest, reset_attempts=request.reset_attempts))
        if request.dry_run:
            for item in items:
                state.hold(item.message_id, item.receipt_handle)
            state.record(items, moved=False)
            return len(items)
        counted = 0
        for dest in dict.fromkeys(item.dest for item in items):
            for_dest = [item for item in items if item.dest == dest]
            counted += self._send_in_order(dest, for_dest) if is_fifo(dest) else self._send(dest, for_dest)
        return counted

    def _send_in_order(self, dest: str, items: list[Outgoing]) -> int:
        """A FIFO destination: a group's copies arrive in their order, or not past the first one that
        could not be sent (it and the rest of its group are held: moved by a later run, in order).
        Each request holds at most one message per group, so a refused entry never has a later one of
        its group sent beside it."""
        counted, stopped = 0, set[str]()
        for round_ in fifo_rounds(items):
            waiting = [item for item in round_ if group_of(item) in stopped]
            for item in waiting:
                self.state.hold(item.message_id, item.receipt_handle, EARLIER_NOT_MOVED)
            sent = self._send(dest, [item for item in round_ if group_of(item) not in stopped])
            counted += sent
            stopped |= {group_of(item) for item in round_ if self.state.is_held(item.message_id)}
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
                self._refused[dest] = result.fatal.message
                if not self.request.to_origin:
                    self.state.finish(StopReason.ERROR, result.fatal)
        for item, reason in failures:
            self.state.hold(item.message_id, item.receipt_handle, reason)
        self.state.sent([item.message_id for item in confirmed])
        left = {item.message_id for item in delete_messages(self.sqs, self.plan.source.url, confirmed)}
        self.state.deleted([item.message_id for item in confirmed if item.message_id not in left])
        self.state.record(confirmed, moved=True)
        return len(confirmed)

    def _delete_again(self, message_id: str, handle: str) -> None:
        """A message moved earlier this run is back (its delete failed): delete it now, or hold it until
        the run ends (it stays on the source, counted in ``not_deleted``). Sent once per run, whatever."""
        if delete_messages(self.sqs, self.plan.source.url, [Held(message_id, handle)]):
            self.state.hold(message_id, handle)
        else:
            self.state.deleted([message_id])
