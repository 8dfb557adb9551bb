"""An unpaced standard batch in phases, so that the delivery threads hold the GIL only for network calls:

1. on the invoking thread, every record admitted (or parked as poison), checked for being due (or
   deferred), and signed (:func:`~hookrelay.delivery.attempt.prepare_request`);
2. the POSTs, up to the partner's post concurrency at once: from the invoking thread while the partner's
   kept-alive connections are open (:mod:`~hookrelay.delivery.posting`: sent at once, each answer read
   as it comes), else on the delivery threads (:func:`~hookrelay.delivery.attempt.exchange`: nothing
   but the HTTP exchange and its timing); meanwhile, on the delivery threads, the SQS sends of the
   records parked or deferred in (1);
3. on the invoking thread, each answer classified and its next step decided as it comes; a delivered
   record reported (attempt record, log line) at once; the steps that need an SQS send (retries, dead
   letters) sent concurrently once every answer is in, and those records reported once their step is
   confirmed.

A crash in any phase fails its record alone (:func:`~hookrelay.delivery.crash.record_crashed`). Measured
(docs/handler-cost.md): at ten POSTs a batch, the handler's CPU per webhook fell by a fifth to a third
against handling each record whole on the threads, and by about a fifth again with the POSTs sent from
the invoking thread.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from hookrelay import tracing
from hookrelay.aws.sqs_event import SqsRecord
from hookrelay.delivery import decide, report
from hookrelay.delivery.attempt import (
    Endpoint,
    Exchanged,
    PreparedRequest,
    classify,
    exchange,
    prepare_request,
)
from hookrelay.delivery.crash import record_crashed
from hookrelay.delivery.decide import DeadLetter, Delivered
from hookrelay.delivery.deps import HandlerDeps
from hookrelay.delivery.posting import post_all
from hookrelay.delivery.report import RecordOutcome
from hookrelay.delivery.settle import settle
from hookrelay.models import WebhookMessage


@dataclass
class _Pending:
    """A record admitted, due and signed (phase 1), waiting for its POST (phase 2)."""

    index: int
    record: SqsRecord
    message: WebhookMessage
    request: PreparedRequest
    now: datetime


@dataclass
class _Settling:
    """A record whose step is decided: ``send`` carries it out (None: nothing to send), then ``report``."""

    index: int
    record: SqsRecord
    send: Callable[[], None] | None
    report: Callable[[], RecordOutcome]


def handle_phased(records: list[SqsRecord], deps: HandlerDeps) -> list[RecordOutcome]:
    """Every record of the batch through the three phases (this module's docstring); their outcomes."""
    outcomes: list[RecordOutcome | None] = [None] * len(records)
    pending: list[_Pending] = []
    early: list[_Settling] = []
    endpoint = deps.endpoint
    for index, record in enumerate(records):
        try:
            ready = _prepare(index, record, endpoint, deps)
        except Exception as exc:
            outcomes[index] = record_crashed(record, deps, exc)
            continue
        if isinstance(ready, _Pending):
            pending.append(ready)
        else:
            early.append(ready)
    sends = [s.send for s in early if s.send is not None]
    pool = deps.pool()
    parked = [pool.submit(contextvars.copy_context().run, run_guarded, send) for send in sends]
    later: list[_Settling] = []
    for i, answer in _answers(pending, deps):
        p = pending[i]
        try:
            if isinstance(answer, BaseException):
                raise answer  # a bug in the exchange, not the network: that record fails alone
            settling = _conclude(p, answer, endpoint, deps)
            if settling.send is None:  # delivered: nothing to send, reported at once
                outcomes[p.index] = settling.report()
            else:
                later.append(settling)
        except Exception as exc:
            outcomes[p.index] = record_crashed(p.record, deps, exc)
    futures.wait(parked)
    _settled(early, [run.result() for run in parked], outcomes, deps)
    _settled(later, _concurrently([s.send for s in later if s.send is not None], deps), outcomes, deps)
    # Every record has its outcome; were one missing (a bug), it stays on the queue, never reported done.
    return [
        o if o is not None else report.crashed(r.message_id, dead_lettered=False)
        for o, r in zip(outcomes, records, strict=True)
    ]


def _answers(pending: list[_Pending], deps: HandlerDeps) -> Iterable[tuple[int, Exchanged | BaseException]]:
    """(index in ``pending``, what its POST gave) as the answers come: from this thread over the
    partner's open connections (:mod:`~hookrelay.delivery.posting`; on the delivery threads where none
    is open), or, on a sampled invocation, all on the delivery threads, through urllib3's pool, which
    X-Ray's patch traces."""
    requests = [p.request for p in pending]
    endpoint, transport = deps.endpoint, deps.transport
    if tracing.sampled() and "urllib3" in tracing.traced_libraries():
        return enumerate(_concurrently([partial(exchange, r, endpoint, transport) for r in requests], deps))
    return post_all(requests, endpoint, transport, deps.settings.post_concurrency, deps.pool())


def run_guarded(call: Callable[[], Any]) -> Any:
    """``call()``, or the exception it raised."""
    try:
        return call()
    except Exception as exc:
        return exc


def _concurrently(calls: list[Callable[[], Any]], deps: HandlerDeps) -> list[Any]:
    """Each call's result, or the exception it raised, in order: on the delivery threads when there is
    more than one (each in a copy of this context: X-Ray's subsegments find the invocation's segment),
    with one wake-up of this thread when the last is done (``Executor.map`` would wake it per call)."""

    if len(calls) <= 1 or deps.settings.post_concurrency == 1:
        return [run_guarded(call) for call in calls]
    pool = deps.pool()
    runs = [pool.submit(contextvars.copy_context().run, run_guarded, call) for call in calls]
    futures.wait(runs)
    return [r.result() for r in runs]


def _settled(
    settling: list[_Settling], sent: list[Any], outcomes: list[RecordOutcome | None], deps: HandlerDeps
) -> None:
    """Report each record whose step was carried out (``sent``: what each send gave, in order); a
    record whose send failed, or whose report crashed, fails alone."""
    results = iter(sent)
    for s in settling:
        try:
            done = next(results) if s.send is not None else None
            if isinstance(done, Exception):
                raise done
            outcomes[s.index] = s.report()
        except Exception as exc:
            outcomes[s.index] = record_crashed(s.record, deps, exc)


def _prepare(index: int, record: SqsRecord, endpoint: Endpoint, deps: HandlerDeps) -> _Pending | _Settling:
    """Phase 1 for one record: parked as poison, deferred, or signed for its POST."""
    settings, now = deps.settings, deps.clock()
    message = decide.admit(record.body, settings.partner_id)
    if isinstance(message, DeadLetter):
        return _Settling(
            index,
            record,
            partial(settle, message, None, record.body, settings, now, deps.sqs),
            partial(report.poisoned, record.message_id, message.reason, settings, now),
        )
    wait = decide.before_attempt(message.delivery, now)
    if wait is not None:
        return _Settling(
            index,
            record,
            partial(settle, wait, message, record.body, settings, now, deps.sqs),
            partial(report.deferred, record.message_id),
        )
    secrets = deps.keys.get().active_secrets(now)
    request = prepare_request(message, endpoint, secrets, now)
    return _Pending(index, record, message, request, now)


def _conclude(p: _Pending, answer: Exchanged, endpoint: Endpoint, deps: HandlerDeps) -> _Settling:
    """Phase 3 for one record: classify the answer and decide its next step (sent, then reported)."""
    settings = deps.settings
    result = classify(p.request, answer, endpoint.excerpt_bytes)
    step = decide.after_attempt(result, p.message.delivery, settings.retry_policy, deps.rand())
    send = None
    if not isinstance(step, Delivered):  # (a delivered record has nothing to send)
        send = partial(settle, step, p.message, p.record.body, settings, p.now, deps.sqs)
    return _Settling(
        p.index,
        p.record,
        send,
        partial(report.attempted, p.record.message_id, p.message, result, step, settings),
    )
