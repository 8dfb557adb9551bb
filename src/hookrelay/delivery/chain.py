"""POSTs one after another on one delivery thread while the partner answers at once; fanned out when not.

Ten POSTs on ten delivery threads cost half again the CPU of the same ten one after another
(``bench_handler_cpu``: ~400 against ~260 us a webhook against an instant receiver): ten thread
hand-offs and ten threads fighting for the GIL. Against a partner that answers within a millisecond or
two, where a POST's time is mostly our own CPU, parallel POSTs buy little. So a partner whose last
batch's POSTs each answered within :data:`FAST_SECONDS` has its next batch's POSTs *chained*: one
delivery thread posts them in turn, while the invoking thread watches. As soon as the POST in flight has
taken longer than :data:`FAST_SECONDS`, or the chain has run for :data:`BUDGET_SECONDS`, the invoking
thread takes back the POSTs not yet started and fans them out on the other delivery threads, as
unchained ones are; a partner with a POST slower than :data:`FAST_SECONDS` is unchained until a batch is
fast again. So a chained batch ends at most :data:`BUDGET_SECONDS` later than an unchained one would (a
partner answering in 4 ms has two POSTs chained, then the other eight fan out), and the function
timeout (one round of POSTs plus margin) still holds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

FAST_SECONDS = 0.005  # a POST answered within this is fast: chaining the next ones costs little latency
BUDGET_SECONDS = 0.005  # a chain posts in turn for at most this long; the POSTs left then fan out


def run_guarded(call: Callable[[], Any]) -> Any:
    """``call()``, or the exception it raised."""
    try:
        return call()
    except Exception as exc:
        return exc


class Chain:
    """``calls`` run in turn by :meth:`run` (on one delivery thread) until :meth:`split_if_slow` (on
    the invoking thread) takes back the ones not started. ``results[i]`` is call i's result, its
    exception, or None if it was taken back."""

    def __init__(
        self,
        calls: list[Callable[[], Any]],
        fast_seconds: float = FAST_SECONDS,
        budget_seconds: float = BUDGET_SECONDS,
    ) -> None:
        self.calls = calls
        self.fast_seconds = fast_seconds
        self.budget_seconds = budget_seconds
        self.results: list[Any] = [None] * len(calls)
        self._next = 0
        self._started: float | None = None  # when the chain's first call started
        self._since: float | None = None  # when the call in flight started
        self._done = False
        self._changed = threading.Condition()

    def run(self) -> None:
        """Run the calls in turn, until none is left or the rest were taken back."""
        while True:
            with self._changed:
                if self._next >= len(self.calls):
                    self._done, self._since = True, None
                    self._changed.notify_all()
                    return
                index, self._next = self._next, self._next + 1
                self._since = time.monotonic()
                if self._started is None:
                    self._started = self._since
                    self._changed.notify_all()  # the invoking thread's clock starts now
            self.results[index] = run_guarded(self.calls[index])

    def split_if_slow(self) -> list[int]:
        """Wait for the chain to end; but once its call in flight has taken longer than the fast limit,
        or the chain has run past its budget, take back the calls not started and return their indexes
        (the one in flight runs on)."""
        with self._changed:
            while not self._done:
                if self._started is None or self._since is None:
                    self._changed.wait()  # not started yet: the first call's start notifies
                    continue
                now = time.monotonic()
                split_at = min(self._since + self.fast_seconds, self._started + self.budget_seconds)
                if now > split_at:
                    rest = list(range(self._next, len(self.calls)))
                    self._next = len(self.calls)
                    return rest
                self._changed.wait(max(split_at - now, 1e-4))
            return []

    def wait(self) -> None:
        """Until the chain's last call (the one in flight when it was split) has returned."""
        with self._changed:
            while not self._done:
                self._changed.wait()
