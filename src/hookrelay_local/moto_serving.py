"""What moto's server costs per request, and per fleet, beyond the call itself; two costs mended.

Neither changes what any call answers: they change what serving a call costs moto's process (and, for
the collector, the local stack's), which ``make bench-scale`` measures per partner created.

- **moto's module list, read from disk per request.** moto's dispatcher asks whether the request's
  host names a moto module (``moto.backends.list_of_moto_modules``), and that generator lists moto's
  package directory and ``stat``s each of its ~180 entries every time: ~180 system calls and ~0.4 ms of
  CPU a request, a quarter of an idle ``ReceiveMessage`` (1.7 -> 1.3 ms measured in moto's process). The
  package does not change while the server runs: :func:`cache_moto_modules` lists it once.
- **Full garbage collections of a big heap, made frequent by long polls.** CPython runs a full
  (generation 2) collection once 10 collections of generation 1 have run and the objects promoted to
  generation 2 since the last full one exceed a quarter of those there. A long poll keeps its request's
  objects alive for up to 20 s, long enough to be promoted, so 1,000 idle partners (50 long polls a
  second) keep promoting objects that die soon after: moto's process then ran a full collection every
  ~10 s, 270-360 ms each over its ~400,000 objects at 1,000 partners (``gc.callbacks``; the GIL held
  throughout: every request waits). Tuned as below, by the generation-1 collections counted there,
  one every ~50 s while partners are created and ~4 minutes idle (bench-scale's CPU figures did not
  move beyond their noise either way: docs/scale.md).
  :func:`tune_collector_for_a_server` is the usual tuning of a long-lived server process: collect once,
  then ``gc.freeze()`` what is alive after start-up (modules, the server's own state: never garbage,
  no longer walked by every full collection) and let a full collection wait for 100 collections of
  generation 1 instead of 10 (young collections stay as they are, so short-lived cycles are freed as
  soon as before; only cyclic garbage that reached the oldest generation waits longer). Only processes
  that serve for a long time call it (``make run``, the benches' moto processes), never a test process.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

FULL_COLLECTION_EVERY = 100  # collections of generation 1 between full ones (CPython's default: 10)

_lock = threading.Lock()
_cached = False


def cache_moto_modules() -> None:
    """List moto's service modules once for every request this process serves (see the module doc)."""
    global _cached
    with _lock:
        if _cached:
            return
        from moto import backends

        modules = tuple(backends.list_of_moto_modules())

        def list_of_moto_modules() -> Iterable[str]:
            return modules

        backends.list_of_moto_modules = list_of_moto_modules
        _cached = True


def tune_collector_for_a_server() -> None:
    """Freeze what is alive now and make full collections rarer (see the module doc). Call it once a
    long-lived server process has started, never in a test process."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


@contextmanager
def collector_tuned() -> Iterator[None]:
    """:func:`tune_collector_for_a_server` for a while (a bench's stack), then as it was: unfrozen."""
    thresholds = gc.get_threshold()
    tune_collector_for_a_server()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
