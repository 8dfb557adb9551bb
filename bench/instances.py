"""Lambda instances as processes, for benchmarks that run more than one.

Two concurrent Lambda instances of one function are two sandboxes: two processes, each with its own
interpreter, GIL and CPU share. Two threads of one process would measure a GIL contention between
instances that Lambda never has, so a benchmark that runs a partner's reserved concurrency runs each
instance here, in a process of its own (``spawn``: a fresh interpreter, as a sandbox starts one).

An :class:`InstancePool` keeps its processes between runs (warm instances). :meth:`InstancePool.run` hands
every process the same job: a ``prepare`` function, called untimed (build the deps, warm up, build the
work), returns the call to time, ``call(i)`` for one item ``i``; then the processes meet at a barrier and
call it on ``threads`` threads each, taking the items ``0 .. total - 1`` from one shared counter as they
come (as instances take a queue's batches), until every item is done. Each process reports its own share:
when it started and finished (``time.perf_counter``, CLOCK_MONOTONIC on Linux: one clock for every
process) and the CPU it used meanwhile (``time.process_time``: every thread of that process), so the
run's rate is measured from when the first starts until the last finishes, and its CPU is the sum of
every instance's, none of it hidden in a child.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

Prepare = Callable[..., Callable[[int], None]]
JOB_TIMEOUT = 600.0  # seconds; a run is a few seconds, so this only bounds a hung child


@dataclass(frozen=True)
class Share:
    """One instance's part of a run."""

    started: float  # time.perf_counter() when it passed the barrier
    finished: float  # ... when its last call returned
    cpu: float  # process_time() seconds between the two, all of its threads
    done: int  # items it handled
    pid: int = 0  # the process it ran in


@dataclass(frozen=True)
class Run:
    """Every instance's share of one run."""

    shares: tuple[Share, ...]

    @property
    def done(self) -> int:
        return sum(s.done for s in self.shares)

    @property
    def wall(self) -> float:
        """Seconds from when the first instance started until the last one finished."""
        return max(s.finished for s in self.shares) - min(s.started for s in self.shares)

    @property
    def rate(self) -> float:
        """Items per second, all instances together."""
        return self.done / self.wall

    @property
    def cpu_per_item(self) -> float:
        """CPU seconds per item, summed over every instance."""
        return sum(s.cpu for s in self.shares) / self.done


def _take(counter: Any, total: int) -> int | None:
    with counter.get_lock():
        i: int = counter.value
        if i >= total:
            return None
        counter.value = i + 1
    return i


def _timed(call: Callable[[int], None], threads: int, counter: Any, total: int) -> Share:
    done = [0] * threads
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            while (i := _take(counter, total)) is not None:
                call(i)
                done[n] += 1
        except BaseException as exc:  # raised again on the process's main thread
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    cpu, started = time.process_time(), time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    return Share(started, time.perf_counter(), time.process_time() - cpu, sum(done), os.getpid())


def _serve(conn: Connection, counter: Any, barrier: Any, initializer: Callable[[], None] | None) -> None:
    """A child's loop: one job at a time until the parent sends None."""
    if initializer is not None:
        initializer()
    while (job := conn.recv()) is not None:
        prepare, args, threads, total = job
        try:
            call = prepare(*args)
            barrier.wait(timeout=JOB_TIMEOUT)
            conn.send(_timed(call, threads, counter, total))
        except BaseException:  # the parent raises it, with the child's traceback
            barrier.abort()
            conn.send(traceback.format_exc())


class InstancePool:
    """``instances`` processes, each running the jobs it is given (see the module's docstring)."""

    def __init__(self, instances: int, initializer: Callable[[], None] | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self._counter = context.Value("q", 0)
        self._barrier = context.Barrier(instances)
        self._conns: list[Connection] = []
        self._processes = []
        for _ in range(instances):
            parent, child = context.Pipe()
            process = context.Process(
                target=_serve, args=(child, self._counter, self._barrier, initializer), daemon=True
            )
            process.start()
            child.close()
            self._conns.append(parent)
            self._processes.append(process)

    def run(self, prepare: Prepare, args: Sequence[Any], threads: int, total: int) -> Run:
        """Every process calls ``prepare(*args)``, then they share ``total`` calls of its result on
        ``threads`` threads each."""
        with self._counter.get_lock():
            self._counter.value = 0
        self._barrier.reset()
        for conn in self._conns:
            conn.send((prepare, tuple(args), threads, total))
        answers = []
        for conn in self._conns:
            if not conn.poll(JOB_TIMEOUT):
                raise TimeoutError(f"an instance did not finish within {JOB_TIMEOUT:.0f} s")
            answers.append(conn.recv())
        failures = [a for a in answers if isinstance(a, str)]
        if failures:
            raise RuntimeError("an instance failed:\n" + "\n".join(failures))
        run = Run(tuple(answers))
        assert run.done == total, f"{run.done} of {total} calls done"
        return run

    def close(self) -> None:
        for conn in self._conns:
            conn.send(None)
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)


@contextmanager
def instance_pool(instances: int, initializer: Callable[[], None] | None = None) -> Iterator[InstancePool]:
    pool = InstancePool(instances, initializer)
    try:
        yield pool
    finally:
        pool.close()
