"""Keeping a rollout within the Lambda control plane's rate: an even pace, and backing off when throttled.

:class:`Pace` spaces calls evenly at ``per_second`` across the threads of one worker (a token bucket of
one: no burst). :func:`paced` runs one control-plane call at that pace and, when AWS still answers
TooManyRequestsException (other callers share the account's 15 per second), waits 1, 2, 4... s (with
jitter, at most 20 s) and tries again; after ``attempts`` it gives up with the throttling error.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from hookrelay.aws.errors import AWS_ERRORS, has_code
from hookrelay.errors import HookrelayError

logger = logging.getLogger(__name__)
T = TypeVar("T")
THROTTLED = ("TooManyRequestsException", "ThrottlingException", "Throttling")
MAX_BACKOFF_SECONDS = 20.0
FAILURES: tuple[type[Exception], ...] = (HookrelayError, *AWS_ERRORS)  # a domain error, or a raw AWS one


class Pace:
    def __init__(
        self,
        per_second: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gap, self.sleep, self.clock = 1.0 / per_second, sleep, clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Return when this caller's turn comes: one call every ``1 / per_second`` seconds."""
        with self._lock:
            now = self.clock()
            turn = max(now, self._next)
            self._next = turn + self.gap
        if turn > now:
            self.sleep(turn - now)


def throttled(exc: BaseException) -> bool:
    """An AWS throttling answer, raw or as the domain error made of it (``raise ... from exc``)."""
    cause = exc.__cause__ if isinstance(exc, HookrelayError) else exc
    return isinstance(cause, Exception) and has_code(cause, *THROTTLED)


def paced(
    what: str,
    call: Callable[[], T],
    pace: Pace,
    attempts: int = 6,
    rand: Callable[[], float] = random.random,
) -> T:
    delay = 1.0
    for attempt in range(1, attempts + 1):
        pace.wait()
        try:
            return call()
        except FAILURES as exc:
            if not throttled(exc) or attempt == attempts:
                raise
            logger.info("throttled; backing off", extra={"what": what, "attempt": attempt, "delay": delay})
            pace.sleep(delay * (1 + rand() / 2))
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
    raise AssertionError("attempts must be at least 1")
