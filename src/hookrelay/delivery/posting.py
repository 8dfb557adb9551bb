"""A batch's POSTs in flight together from one thread: sent at once on the partner's kept-alive
connections, their answers read as they come.

Ten POSTs on ten delivery threads spend much of their CPU handing the GIL around: each thread wakes,
waits its turn to send, and again to read. So when the partner's connections are open (every batch
after its first, while the partner keeps them alive), the invoking thread sends each POST itself
(:meth:`~hookrelay.delivery.transport.PinnedTransport.send_now`: the request written in one piece on
urllib3's pooled connection), up to the partner's post concurrency at once, and reads each answer when
its socket becomes readable (a selector; ``http.client`` parses it), sending the next POST on the
connection that answer freed. Measured on one CPU (docs/handler-cost.md, session 8): the handler's CPU
per webhook against an instant receiver fell from ~230 us to ~155 (the bare urllib3 loop's ~140), and
its batch against a 20 ms receiver ends ~1 ms sooner.

The rules the delivery threads keep hold here too: at most ``limit`` POSTs in flight at once; each
answer read (status line, headers, excerpt) within the read timeout from its send, else it is a read
timeout and its connection is closed (on this path the read timeout bounds the whole answer, not each
read: one slow answer cannot hold the others back for longer). Two kinds of POST go to the delivery
threads instead, as :func:`~hookrelay.delivery.attempt.exchange`, sharing the same ``limit``: one that
finds no open connection (the first batch, a partner that closes them, a connection the partner
dropped), with every POST not yet sent (opening a connection may take the whole connect timeout); and
one whose body is over :data:`SEND_AT_ONCE_BYTES` (its send could wait on a partner slow to read).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from urllib3.exceptions import HTTPError

from hookrelay.delivery.attempt import Endpoint, Exchanged, PreparedRequest, answered, exchange
from hookrelay.delivery.open_connection import Sent
from hookrelay.delivery.transport import PinnedTransport
from hookrelay.errors import UnsafeDestination
from hookrelay.ssrf import DnsFailure

if TYPE_CHECKING:
    import selectors

SMALLEST_READ_TIMEOUT = 0.001  # an answer ready at its deadline is still read (each read gets this much)
# A body up to this size is sent from the invoking thread: with its headers it fits the send buffer of an
# idle connection (Linux starts a TCP socket's at 16 KiB), so its send never waits for the partner to
# read. A larger one goes to a delivery thread, where a partner slow to read it holds up no other POST.
SEND_AT_ONCE_BYTES = 12 * 1024


def post_all(
    requests: Sequence[PreparedRequest],
    endpoint: Endpoint,
    transport: PinnedTransport,
    limit: int,
    pool: futures.ThreadPoolExecutor,
) -> Iterator[tuple[int, Exchanged | BaseException]]:
    """(index, what its POST gave) of each request, as the answers come (an exception only for a bug in
    a delivery thread's exchange): at most ``limit`` in flight at once, from this thread while the
    partner's connections are open, the rest (and bodies over :data:`SEND_AT_ONCE_BYTES`) from
    ``pool``'s threads (their answers come last)."""
    slots = threading.BoundedSemaphore(limit)
    read_timeout = endpoint.read_timeout
    large = [i for i, request in enumerate(requests) if len(request.body) > SEND_AT_ONCE_BYTES]
    threaded = [(i, _on_a_thread(pool, slots, requests[i], endpoint, transport)) for i in large]
    waiting = deque(i for i, request in enumerate(requests) if len(request.body) <= SEND_AT_ONCE_BYTES)
    # read, not yet yielded (the next POSTs go out first); an exception: a bug, that record fails alone
    done: list[tuple[int, Exchanged | Exception]] = []
    flights = _Flights()
    try:
        while waiting or flights or done:
            # (with nothing in flight from here, wait for a delivery thread to free a slot)
            while waiting and slots.acquire(blocking=not (flights or done)):
                index, started = waiting[0], time.perf_counter()
                try:
                    sent = _send(requests[index], endpoint, transport)
                except Exception as exc:
                    sent = exc
                if sent is None:  # no open connection: this POST and the rest go to the threads
                    slots.release()
                    threaded += [
                        (i, _on_a_thread(pool, slots, requests[i], endpoint, transport)) for i in waiting
                    ]
                    waiting.clear()
                    break
                waiting.popleft()
                if isinstance(sent, Sent):
                    flights.add(_InFlight(index, sent, started))
                    continue
                slots.release()
                if isinstance(sent, REFUSED):  # refused before any connection (SSRF, DNS)
                    done.append((index, Exchanged(_elapsed_ms(started), failure=sent)))
                else:
                    done.append((index, sent))
            yield from done
            done = []
            for flight, readable in flights.due(read_timeout):
                flights.remove(flight)
                try:
                    done.append((flight.index, _read(flight, readable, read_timeout, endpoint, transport)))
                except Exception as exc:
                    transport.abandon(flight.sent, read_timeout)
                    done.append((flight.index, exc))
                slots.release()
    finally:  # (what is still in flight only if the caller stopped reading early: it is given up)
        flights.close(transport, read_timeout)
    if threaded:
        futures.wait([run for _, run in threaded])
    for index, run in threaded:
        error = run.exception()
        yield index, error if error is not None else run.result()


@dataclass(frozen=True)
class _InFlight:
    index: int
    sent: Sent
    started: float  # time.perf_counter() before its send


REFUSED = (UnsafeDestination, DnsFailure, HTTPError)  # what refuses a POST before it is sent


def _send(
    request: PreparedRequest, endpoint: Endpoint, transport: PinnedTransport
) -> Sent | Exception | None:
    """The POST sent on an open connection; None if there is none; or its refusal before any connection."""
    try:
        return transport.send_now(
            endpoint.url, request.body, request.headers, (endpoint.connect_timeout, endpoint.read_timeout)
        )
    except REFUSED as exc:
        return exc


class _Flights:
    """The POSTs in flight from this thread, watched by a selector made for the first one (``selectors``
    is imported then too: a cold start's first batch, with no connection open yet, never needs it)."""

    def __init__(self) -> None:
        self._selector: selectors.BaseSelector | None = None

    def __bool__(self) -> bool:
        return self._selector is not None and bool(self._selector.get_map())

    def add(self, flight: _InFlight) -> None:
        if self._selector is None:
            import selectors

            self._selector = selectors.DefaultSelector()
        self._selector.register(flight.sent.conn.sock, 1, flight)  # (1: selectors.EVENT_READ)

    def remove(self, flight: _InFlight) -> None:
        assert self._selector is not None
        self._selector.unregister(flight.sent.conn.sock)

    def due(self, read_timeout: float) -> list[tuple[_InFlight, bool]]:
        """Each POST in flight whose answer can be read now (True), or whose read timeout has passed
        (False); waits until there is one (none if nothing is in flight)."""
        if not self:
            return []
        assert self._selector is not None
        in_flight: list[_InFlight] = [key.data for key in self._selector.get_map().values()]
        first_deadline = min(flight.started for flight in in_flight) + read_timeout
        wait = max(first_deadline - time.perf_counter(), 0.0)
        ready = {id(key.data) for key, _ in self._selector.select(wait)}
        now = time.perf_counter()
        return [(f, id(f) in ready) for f in in_flight if id(f) in ready or now >= f.started + read_timeout]

    def close(self, transport: PinnedTransport, read_timeout: float) -> None:
        """Give up on what is still in flight (its connections closed); close the selector."""
        if self._selector is None:
            return
        for key in list(self._selector.get_map().values()):
            transport.abandon(key.data.sent, read_timeout)
        self._selector.close()


def _read(
    flight: _InFlight, readable: bool, read_timeout: float, endpoint: Endpoint, transport: PinnedTransport
) -> Exchanged:
    """The answer to a POST in flight, read within what is left of its read timeout; or its timeout."""
    left = flight.started + read_timeout - time.perf_counter()
    if not readable and left <= 0:
        return Exchanged(_elapsed_ms(flight.started), failure=transport.abandon(flight.sent, read_timeout))
    try:
        response = transport.answer(flight.sent, max(left, SMALLEST_READ_TIMEOUT), read_timeout)
    except HTTPError as exc:
        return Exchanged(_elapsed_ms(flight.started), failure=exc)
    return answered(response, flight.started, endpoint.excerpt_bytes)


def _on_a_thread(
    pool: futures.ThreadPoolExecutor,
    slots: threading.BoundedSemaphore,
    request: PreparedRequest,
    endpoint: Endpoint,
    transport: PinnedTransport,
) -> futures.Future[Exchanged]:
    """``exchange`` of ``request`` on a delivery thread once a slot is free (in a copy of this context:
    X-Ray's subsegments find the invocation's segment)."""

    def in_a_slot() -> Exchanged:
        with slots:
            return exchange(request, endpoint, transport)

    run: Callable[..., Any] = contextvars.copy_context().run
    return pool.submit(run, in_a_slot)


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
