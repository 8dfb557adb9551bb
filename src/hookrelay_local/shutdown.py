"""SIGINT/SIGTERM stop `make run` within a deadline, every time, whatever the main thread is doing.

A Python-level signal handler only runs in the main thread between bytecodes, and the usual
``handler -> Event.set()`` can deadlock (the handler interrupts the main thread inside that very
Event's lock) or wait behind a blocked write to a full stdout pipe. So the signal is taken from C:
``signal.set_wakeup_fd`` writes the signal number to a socket that a watchdog thread reads. The
watchdog sets :attr:`Stopper.requested` (the main loop's cue to stop gracefully) and, if the stop has
not finished ``grace_s`` later, ends the process with ``os._exit(128 + signum)``.

While the stack is still starting (packaging, bootstrap: up to ~25 s), the first signal raises
KeyboardInterrupt in the main thread so the start is abandoned rather than finished first.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from types import FrameType, TracebackType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopper:
    """Install with ``with Stopper(grace_s) as stopper:`` in the main thread; call :meth:`stopped` last."""

    def __init__(self, grace_s: float = 9.0) -> None:
        self.grace_s = grace_s
        self.requested = threading.Event()
        self._done = threading.Event()
        self._starting = True
        self._read, self._write = socket.socketpair()
        self._write.setblocking(False)
        self._saved: dict[int, object] = {}
        self._saved_fd = -1

    def __enter__(self) -> Stopper:
        self._saved_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        for signum in SIGNALS:  # also where SIGINT started out ignored (a background job)
            self._saved[signum] = signal.signal(signum, self._handle)
        threading.Thread(target=self._watch, name="stop-watchdog", daemon=True).start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stopped()
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        signal.set_wakeup_fd(self._saved_fd)
        self._write.close()  # the watchdog's recv returns b"" and it ends

    def started(self) -> None:
        """The stack is up: a signal now asks the main loop to stop (no exception)."""
        self._starting = False

    def stopped(self) -> None:
        """The stop finished: the watchdog stands down."""
        self._done.set()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._starting:
            self._starting = False  # a second signal (make forwards SIGTERM) must not interrupt the cleanup
            raise KeyboardInterrupt

    def _watch(self) -> None:
        with self._read:
            received = self._read.recv(1)  # b"" once __exit__ closed the other end
        if not received or self._done.is_set():
            return
        self.requested.set()
        if not self._done.wait(self.grace_s):
            os._exit(128 + received[0])
