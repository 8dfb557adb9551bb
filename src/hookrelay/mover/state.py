"""The shared, locked state of one move: counts, held messages, the limit's budget, the stop.

Every worker thread of a :class:`hookrelay.mover.engine.Mover` reads and writes the run only through this
class, under one lock.
"""

from __future__ import annotations

import logging
import threading

from hookrelay.aws.sqs import queue_name
from hookrelay.errors import HookrelayError, NotFound, PermissionDenied
from hookrelay.mover.messages import Outgoing
from hookrelay.mover.request import SQS_BATCH, MoveReport, Sample, StopReason

logger = logging.getLogger(__name__)


class RunState:
    def __init__(self, report: MoveReport, limit: int | None) -> None:
        self.report = report
        self.limit = limit
        self.halt = threading.Event()
        self.held: dict[str, str] = {}  # message id -> latest receipt handle
        self.undeleted: set[str] = set()  # ids whose copy SQS confirmed, not deleted yet: never re-sent
        self._lock = threading.Lock()
        self._claimed = self._counted = self._empty_streak = self._receive_errors = 0

    def snapshot(self, elapsed: float) -> MoveReport:
        with self._lock:
            return self.report.model_copy(deep=True, update={"elapsed_seconds": elapsed})

    def finish(self, reason: StopReason, error: HookrelayError | str | None = None) -> None:
        """Stop the run (the first reason wins); batches in flight still complete."""
        with self._lock:
            if self.report.stop_reason is None:
                self.report.stop_reason = reason
                if isinstance(error, NotFound | PermissionDenied):
                    self.report.fatal = error.code
            if error is not None:
                self.report.note_error(error.message if isinstance(error, HookrelayError) else error)
        self.halt.set()

    def claim(self) -> int:
        """How many messages a worker may receive now (the limit is shared by every worker)."""
        with self._lock:
            if self.limit is None:
                return SQS_BATCH
            free = self.limit - self._counted - self._claimed
            if free > 0:
                self._claimed += min(SQS_BATCH, free)
                return min(SQS_BATCH, free)
            reached = self._claimed == 0
        if reached:
            self.finish(StopReason.LIMIT)
        return 0

    def settle(self, claimed: int, counted: int) -> None:
        """A batch is over: ``counted`` of the ``claimed`` messages count against the limit."""
        with self._lock:
            self._claimed -= claimed
            self._counted += counted

    def received(self, count: int) -> int:
        """Note a receive's size; return the streak of empty receives (0 after a non-empty one)."""
        with self._lock:
            self._receive_errors = 0
            self._empty_streak = 0 if count else self._empty_streak + 1
            return self._empty_streak

    def receive_failed(self) -> int:
        with self._lock:
            self._receive_errors += 1
            return self._receive_errors

    def rehold(self, message_id: str, receipt_handle: str) -> bool:
        """True (and the handle refreshed) if this message is already held: it was seen this run."""
        with self._lock:
            if message_id not in self.held:
                return False
            self.held[message_id] = receipt_handle
            return True

    def is_held(self, message_id: str) -> bool:
        with self._lock:
            return message_id in self.held

    def hold(
        self, message_id: str, receipt_handle: str, reason: str | None = None, skipped: bool = False
    ) -> None:
        """Keep a message invisible until the run ends; with a reason it counts as failed."""
        with self._lock:
            self.held[message_id] = receipt_handle
            self.report.skipped += skipped
            if reason is not None:
                self.report.failed += 1
                self.report.note_error(reason)
        if reason is not None:
            logger.warning("not moved", extra={"message_id": message_id, "reason": reason})

    def sent(self, message_ids: list[str]) -> None:
        """Their copies are confirmed: until deleted, a copy seen again is deleted, never sent again."""
        with self._lock:
            self.undeleted.update(message_ids)
            self.report.not_deleted = len(self.undeleted)

    def deleted(self, message_ids: list[str]) -> None:
        with self._lock:
            self.undeleted.difference_update(message_ids)
            self.report.not_deleted = len(self.undeleted)

    def was_sent(self, message_id: str) -> bool:
        with self._lock:
            return message_id in self.undeleted

    def record(self, items: list[Outgoing], moved: bool) -> None:
        """Count messages moved (or, in a dry run, that would move), keeping a few dry-run samples."""
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
                    body = item.entry["MessageBody"][:200]
                    attributes = sorted(item.entry.get("MessageAttributes", {}))
                    sample = Sample(message_id=item.message_id, dest=name, body=body, attributes=attributes)
                    report.samples.append(sample)
