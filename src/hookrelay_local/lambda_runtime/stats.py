"""What the local runtime did, for a console or a demo: counters per function, a report per batch."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from enum import StrEnum


class BatchOutcome(StrEnum):
    SUCCESS = "success"  # every record deleted
    PARTIAL = "partial"  # only the records the function reported stay
    ERROR = "error"  # the function raised: every record stays
    TIMEOUT = "timeout"  # ran past the function's Timeout: every record stays
    INVALID_RESPONSE = "invalid_response"  # unreadable partial batch response: every record stays


@dataclass(frozen=True)
class InvocationReport:
    """One batch: what was received, what the function answered, what was deleted."""

    function_name: str
    mapping_uuid: str
    queue_url: str
    message_ids: tuple[str, ...]
    deleted: tuple[str, ...]
    kept: tuple[str, ...]  # still on the queue: visible again after the visibility timeout
    outcome: BatchOutcome
    duration_s: float
    error: str | None = None


@dataclass(frozen=True)
class FunctionCounters:
    batches: int = 0
    records: int = 0
    deleted: int = 0
    failed: int = 0  # records left on the queue (function failure or a failed delete)
    errors: int = 0  # batches whose invocation raised
    timeouts: int = 0
    invalid_responses: int = 0
    delete_failures: int = 0
    in_flight: int = 0  # batches being invoked right now


@dataclass
class RuntimeStats:
    """Thread-safe counters, keyed by function name."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counters: dict[str, FunctionCounters] = field(default_factory=dict)

    def _bump(self, function_name: str, **deltas: int) -> None:
        with self._lock:
            current = self._counters.get(function_name, FunctionCounters())
            updated = {k: getattr(current, k) + v for k, v in deltas.items()}
            self._counters[function_name] = replace(current, **updated)

    def started(self, function_name: str) -> None:
        self._bump(function_name, in_flight=1)

    def finished(self, report: InvocationReport, delete_failures: int) -> None:
        self._bump(
            report.function_name,
            in_flight=-1,
            batches=1,
            records=len(report.message_ids),
            deleted=len(report.deleted),
            failed=len(report.message_ids) - len(report.deleted),
            errors=int(report.outcome is BatchOutcome.ERROR),
            timeouts=int(report.outcome is BatchOutcome.TIMEOUT),
            invalid_responses=int(report.outcome is BatchOutcome.INVALID_RESPONSE),
            delete_failures=delete_failures,
        )

    def snapshot(self) -> dict[str, FunctionCounters]:
        with self._lock:
            return dict(self._counters)

    def totals(self) -> FunctionCounters:
        with self._lock:
            values = list(self._counters.values())
        names = FunctionCounters.__dataclass_fields__
        return FunctionCounters(**{n: sum(getattr(v, n) for v in values) for n in names})
