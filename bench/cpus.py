"""Which CPU the code a benchmark measures runs on, and which the services it calls run on.

A Lambda instance at the memory sizes hookrelay gives its handlers has at most one vCPU's worth of CPU.
A process whose threads the scheduler spreads over two cores hands Python's GIL from core to core, and
each hand-off across cores costs far more than one on a core: measured here, the bare urllib3 loop (10
threads, an instant receiver) spends ~300 us of CPU per POST spread over both cores and ~140 us kept on
one, and a run got one or the other as the scheduler placed its threads (the bare loop's "fast mode",
swinging its figures 145-345 us since session 6). So the handler benchmarks keep what they measure (the
handler and its bare baseline alike, every thread and instance process of it) on one CPU,
:data:`MEASURED`, and moto's server and the receivers (AWS and the partner: other machines, in
production) on the others, :data:`SERVICES`. With fewer than two CPUs nothing is pinned.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_ALLOWED = sorted(os.sched_getaffinity(0))
MEASURED: frozenset[int] = frozenset(_ALLOWED[:1]) if len(_ALLOWED) > 1 else frozenset(_ALLOWED)
SERVICES: frozenset[int] = frozenset(_ALLOWED[1:]) if len(_ALLOWED) > 1 else frozenset(_ALLOWED)


def pinned() -> bool:
    """Whether what is measured has a CPU of its own."""
    return len(_ALLOWED) > 1


@contextmanager
def measured_here() -> Iterator[None]:
    """This thread, and every thread and process it starts meanwhile, on :data:`MEASURED` only (enter it
    before starting any); this thread's CPUs as they were after (``make bench`` runs every benchmark in
    one process)."""
    before = os.sched_getaffinity(0)
    if pinned():
        os.sched_setaffinity(0, MEASURED)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def confine_service(pid: int) -> None:
    """Process ``pid`` (a service a benchmark started: moto's server, a receiver) on :data:`SERVICES`."""
    if pinned():
        os.sched_setaffinity(pid, SERVICES)


def placement() -> str:
    """One line saying where what is measured ran (for a benchmark's output)."""
    if not pinned():
        return "(one CPU: nothing pinned)"
    return (
        f"(what is measured on CPU {sorted(MEASURED)[0]}, as a Lambda instance has at most one vCPU;"
        f" moto and the receivers on CPU {','.join(str(c) for c in sorted(SERVICES))}: bench/cpus.py)"
    )
