"""Keeping a rollout within the Lambda control plane's rate: an even pace, and backing off when throttled.

:class:`Pace` spaces calls evenly at ``per_second`` across the threads of one worker (a token bucket of
one: no burst). :class:`PacedLambda` makes *every* control-plane call of a Lambda client wait its turn,
so a step that makes two calls (update-code when the layer changed: configuration, then code) spends
two turns, and nothing a step adds later can slip past the pace; GetFunction (its own 100/s quota, the
waiters' call) is not metered. :func:`paced` runs one step and, when AWS still answers
TooManyRequestsException (other callers share the account's 15 per second), waits 1, 2, 4... s (with
jitter, at most 20 s) and tries again; after ``attempts`` it gives up with the throttling error.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, has_code
from hookrelay.errors import HookrelayError

if TYPE_CHECKING:
    from types_boto3_lambda import LambdaClient

logger = logging.getLogger(__name__)
T = TypeVar("T")
THROTTLED = ("TooManyRequestsException", "ThrottlingException", "Throttling")
MAX_BACKOFF_SECONDS = 20.0
FAILURES: tuple[type[Exception], ...] = (HookrelayError, *AWS_ERRORS)  # a domain error, or a raw AWS one
# Not the control plane's 15/s: GetFunction and GetPolicy have their own quotas, Invoke is the data plane;
# the rest are the client's own helpers, which make no call (a waiter calls GetFunction).
UNMETERED = frozenset({"get_function", "get_policy", "invoke", "get_waiter", "can_paginate", "close"})


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


class PacedLambda:
    """A Lambda client whose control-plane calls each wait for a turn of ``pace`` first."""

    def __init__(self, inner: LambdaClient, pace: Pace) -> None:
        self._inner, self._pace = inner, pace

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name.startswith("_") or name in UNMETERED or not callable(found):
            return found

        def metered(*args: Any, **kwargs: Any) -> Any:
            self._pace.wait()
            return found(*args, **kwargs)

        return metered


def paced_clients(clients: Clients, pace: Pace) -> Clients:
    """``clients`` whose Lambda client is metered by ``pace`` (the other services are not)."""
    lambda_ = cast("LambdaClient", PacedLambda(clients.lambda_, pace))
    return Clients(
        overrides={**clients.overrides, "lambda": lambda_}, sleep=clients.sleep, config=clients.config
    )


def throttled(exc: BaseException) -> bool:
    """An AWS throttling answer, raw or as the domain error made of it (``raise ... from exc``)."""
    cause = exc.__cause__ if isinstance(exc, HookrelayError) else exc
    return isinstance(cause, Exception) and has_code(cause, *THROTTLED)


def paced(
    what: str,
    call: Callable[[], T],
    sleep: Callable[[float], None],
    attempts: int = 6,
    rand: Callable[[], float] = random.random,
) -> T:
    """Run ``call`` (whose Lambda calls the :class:`PacedLambda` meters), backing off when throttled."""
    delay = 1.0
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except FAILURES as exc:
            if not throttled(exc) or attempt == attempts:
                raise
            logger.info("throttled; backing off", extra={"what": what, "attempt": attempt, "delay": delay})
            sleep(delay * (1 + rand() / 2))
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
    raise AssertionError("attempts must be at least 1")
