"""One deadline for a whole alarm-to-slack invocation, taken from the Lambda context's remaining time.

The invocation must end, posted or raising for a retry, before Lambda kills it (60 s): a timeout is an
invocation lost to a log line, and its retry starts from scratch. So the deadline is the context's
``get_remaining_time_in_millis()`` minus :data:`MARGIN_SECONDS` (to log and answer). Within it:

- the enrichment (the partners of a stage alarm, a handler's error lines) gets a bounded share,
  :meth:`Deadline.enrichment_budget`: at most :data:`ENRICH_MAX_SECONDS` and a third of what is left,
  never eating into the :data:`SLACK_MIN_SECONDS` the post needs; under :data:`ENRICH_MIN_SECONDS` it is
  skipped. Each read runs under :func:`within`, which stops waiting for it when its time is up (the
  clients also have short timeouts: ``aws.clients.INTERACTIVE_CONFIG``);
- the Slack post gets what remains (``post_message(..., until=deadline.at)``): no attempt nor wait
  past it, and each attempt's timeouts are cut to fit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hookrelay.errors import DependencyUnavailable

T = TypeVar("T")

MARGIN_SECONDS = 3.0
DEFAULT_SECONDS = 60.0  # no Lambda context (a direct call): the function's timeout
ENRICH_MAX_SECONDS = 10.0
ENRICH_SHARE = 1 / 3
SLACK_MIN_SECONDS = 5.0
ENRICH_MIN_SECONDS = 1.0


class OutOfTime(DependencyUnavailable):
    """A read did not finish within its share of the invocation's time (it was not waited for)."""


@dataclass(frozen=True)
class Deadline:
    at: float  # on ``clock``
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def from_context(cls, context: Any, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """The context's remaining time less the margin (no context, or none to read: 60 s less it)."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        seconds = float(remaining()) / 1000 if callable(remaining) else DEFAULT_SECONDS
        return cls(clock() + seconds - MARGIN_SECONDS, clock)

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock())

    def enrichment_budget(self) -> float:
        """Seconds the enrichment may take from now; 0.0 when it must be skipped."""
        left = self.remaining()
        budget = min(ENRICH_MAX_SECONDS, left * ENRICH_SHARE, left - SLACK_MIN_SECONDS)
        return budget if budget >= ENRICH_MIN_SECONDS else 0.0

    def enrichment(self) -> Deadline:
        """The deadline of the enrichment, starting now (already past when it must be skipped)."""
        return Deadline(self.clock() + self.enrichment_budget(), self.clock)


def within(deadline: Deadline, what: str, work: Callable[[], T]) -> T:
    """``work()``'s result, or :class:`OutOfTime` once ``deadline`` passes (or has passed: not started).

    The work runs in a daemon thread, which is left to finish on its own when time is up: its result
    is dropped. Its exceptions are raised here.
    """
    budget = deadline.remaining()
    if budget < ENRICH_MIN_SECONDS:
        raise OutOfTime(f"{what} not read: out of time")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=f"alarm-{what}", daemon=True)
    worker.start()
    worker.join(budget)
    if worker.is_alive():
        raise OutOfTime(f"{what} not read: out of time")
    if "error" in outcome:
        raise outcome["error"]
    result: T = outcome["result"]
    return result
