"""The delivery handler's batch loop: one Lambda SQS batch in, a partial batch response out.

Each record is handled on its own: admitted or parked as poison, deferred if not yet due (or, for a
paced partner, if its send slot is beyond the batch's budget: :mod:`~hookrelay.delivery.pacer`),
attempted; :mod:`~hookrelay.delivery.decide` chooses its next step from the facts,
:mod:`~hookrelay.delivery.settle` carries it out, :mod:`~hookrelay.delivery.report` builds what it
reports. An unpaced standard batch runs in phases (:func:`handle_phased`): every record's CPU work on
the invoking thread, only the POSTs on the delivery threads (concurrently, up to the partner's post
concurrency); a paced batch handles each record whole on those threads, and a FIFO batch each message
group (:mod:`~hookrelay.delivery.ordered_batch`). Each record ends in exactly one of these, *confirmed
before the record is reported done*:

- delivered (2xx);
- re-sent to the partner queue with its next delivery state (a retry, or a wait chained through
  15-minute SQS delays until the message is due);
- sent to the partner's dead-letter queue with a reason (invalid body, wrong partner, 410 Gone,
  refused destination, retries exhausted, handling failed on the queue's last receive).

A record whose next step could not be confirmed, or whose handling crashed, is reported as a batch
item failure: SQS makes it visible again after the visibility timeout, and nothing is lost.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Mapping
from concurrent import futures
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hookrelay.aws.sqs_event import SqsEvent, SqsRecord, batch_response
from hookrelay.delivery import decide, report
from hookrelay.delivery.attempt import (
    Endpoint,
    Exchanged,
    PreparedRequest,
    attempt_delivery,
    classify,
    exchange,
    prepare_request,
)
from hookrelay.delivery.decide import DeadLetter, Delivered
from hookrelay.delivery.deps import HandlerDeps
from hookrelay.delivery.report import RecordOutcome
from hookrelay.delivery.settle import settle
from hookrelay.errors import InvalidInput
from hookrelay.models import WebhookMessage
from hookrelay.partners.ordering import is_fifo_queue

if TYPE_CHECKING:
    from hookrelay.delivery.pacer import BatchPace

logger = logging.getLogger(__name__)


def handle_batch(event: Mapping[str, Any], deps: HandlerDeps) -> dict[str, list[dict[str, str]]]:
    """Deliver every record of a Lambda SQS event; return ``batchItemFailures``."""
    records = parse_event(event)
    fifo = is_fifo_queue(deps.settings.queue_url)  # ordered: no pacing (docs/ordering.md)
    pace = None if deps.pacer is None or fifo else deps.pacer.begin([r.message_id for r in records])
    if fifo:
        from hookrelay.delivery.ordered_batch import handle_fifo_batch  # an ordered partner's path only

        outcomes = handle_fifo_batch(records, deps)
    elif pace is None:
        outcomes = handle_phased(records, deps)
    elif len(records) == 1 or deps.settings.post_concurrency == 1:
        outcomes = [_guarded(record, deps, pace) for record in records]
    else:
        # Each thread runs in a copy of this context, so its log lines carry the invocation's fields.
        contexts = [contextvars.copy_context() for _ in records]
        runs = deps.pool().map(lambda c, r: c.run(_guarded, r, deps, pace), contexts, records)
        outcomes = list(runs)
    # Every record's fate is settled: nothing after this may fail the invocation, or SQS would
    # deliver webhooks that already arrived a second time.
    try:
        deps.results.publish([o.record for o in outcomes if o.record is not None])
        report.emit_metrics(outcomes, deps.settings)
        if deps.pacer is not None and pace is not None:
            deps.pacer.end(pace)
    except Exception:
        logger.exception(
            "attempt records, metrics or pacing state not published",
            extra={"partner_id": deps.settings.partner_id},
        )
    return batch_response([o.message_id for o in outcomes if not o.ok])


def parse_event(event: Mapping[str, Any]) -> list[SqsRecord]:
    """The records of a Lambda SQS event; InvalidInput if it is not one."""
    try:
        return SqsEvent.model_validate(event).records
    except ValidationError as exc:
        raise InvalidInput(f"not an SQS event: {exc.error_count()} validation errors") from exc


def handle_record(record: SqsRecord, deps: HandlerDeps, pace: BatchPace | None = None) -> RecordOutcome:
    """One record: admit it, defer it or attempt it (paced: in its slot); settle the step decided; report."""
    settings, now = deps.settings, deps.clock()
    message = decide.admit(record.body, settings.partner_id)
    if isinstance(message, DeadLetter):
        settle(message, None, record.body, settings, now, deps.sqs)
        return report.poisoned(record.message_id, message.reason, settings, now)
    wait = decide.before_attempt(message.delivery, now)
    if wait is None and pace is not None:
        deps.keys.get()  # the first batch's secret read is not made inside a send slot
        wait = pace.gate(record.message_id)
        now = deps.clock()
    if wait is not None:
        settle(wait, message, record.body, settings, now, deps.sqs)
        return report.deferred(record.message_id)
    secrets = deps.keys.get().active_secrets(now)
    result = attempt_delivery(message, deps.endpoint, secrets, deps.transport, now)
    if pace is not None:
        pace.observe(record.message_id, result)
    step = decide.after_attempt(result, message.delivery, settings.retry_policy, deps.rand())
    settle(step, message, record.body, settings, now, deps.sqs)
    return report.attempted(record.message_id, message, result, step, settings)


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
    """An unpaced standard batch in phases, so that the delivery threads hold the GIL only for network
    calls: (1) admit, decide and sign every record on this thread; (2) the POSTs, with the SQS sends of
    records parked or deferred in (1), concurrently (up to post_concurrency); (3) classify each answer
    and decide its next step on this thread, send the steps that need an SQS send concurrently again
    (retries and dead letters), and report each record on this thread once its step is confirmed. A
    crash in any phase fails its record alone."""
    outcomes: list[RecordOutcome | None] = [None] * len(records)
    pending: list[_Pending] = []
    early: list[_Settling] = []
    endpoint, transport = deps.endpoint, deps.transport
    for index, record in enumerate(records):
        try:
            ready = _prepare(index, record, endpoint, deps)
        except Exception as exc:
            outcomes[index] = _crashed(record, deps, exc)
            continue
        if isinstance(ready, _Pending):
            pending.append(ready)
        else:
            early.append(ready)
    posts = [partial(exchange, p.request, endpoint, transport) for p in pending]
    answers = _concurrently(posts + [s.send for s in early if s.send is not None], deps)
    _settled(early, answers[len(posts) :], outcomes, deps)
    later: list[_Settling] = []
    for p, answer in zip(pending, answers[: len(posts)], strict=True):
        try:
            if isinstance(answer, Exception):
                raise answer  # a bug in the exchange, not the network: that record fails alone
            assert isinstance(answer, Exchanged)
            later.append(_conclude(p, answer, endpoint, deps))
        except Exception as exc:
            outcomes[p.index] = _crashed(p.record, deps, exc)
    _settled(later, _concurrently([s.send for s in later if s.send is not None], deps), outcomes, deps)
    # Every record has its outcome; were one missing (a bug), it stays on the queue, never reported done.
    return [
        o if o is not None else report.crashed(r.message_id, dead_lettered=False)
        for o, r in zip(outcomes, records, strict=True)
    ]


def _concurrently(calls: list[Callable[[], Any]], deps: HandlerDeps) -> list[Any]:
    """Each call's result, or the exception it raised, in order: on the delivery threads when there is
    more than one (each in a copy of this context: X-Ray's subsegments find the invocation's segment),
    with one wake-up of this thread when the last is done (``Executor.map`` would wake it per call)."""

    def run(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:
            return exc

    if len(calls) <= 1 or deps.settings.post_concurrency == 1:
        return [run(call) for call in calls]
    pool = deps.pool()
    runs = [pool.submit(contextvars.copy_context().run, run, call) for call in calls]
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
            outcomes[s.index] = _crashed(s.record, deps, exc)


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


def _guarded(record: SqsRecord, deps: HandlerDeps, pace: BatchPace | None = None) -> RecordOutcome:
    """A crash on one record fails that record alone (see :func:`_crashed`)."""
    try:
        return handle_record(record, deps, pace)
    except Exception as exc:
        return _crashed(record, deps, exc)


def _crashed(record: SqsRecord, deps: HandlerDeps, exc: Exception) -> RecordOutcome:
    """Handling ``record`` raised ``exc``: it stays on the queue, except on the queue's last receive (SQS
    would move the message to the DLQ on the next one, with no word why): it is dead-lettered with the
    error. Call from an ``except`` block (the log line carries the traceback)."""
    step = decide.after_crash(exc, record.receive_count, deps.settings.max_receive_count)
    final = isinstance(step, DeadLetter)
    logger.error(
        "record handling failed; " + ("dead-lettering it" if final else "it stays on the queue"),
        exc_info=exc,
        extra={
            "message_id": record.message_id,
            "partner_id": deps.settings.partner_id,
            "receive_count": record.receive_count,
        },
    )
    if final:
        try:
            settle(step, None, record.body, deps.settings, deps.clock(), deps.sqs)
            return report.crashed(record.message_id, dead_lettered=True)
        except Exception:
            logger.exception("could not dead-letter it either; SQS's redrive will")
    return report.crashed(record.message_id, dead_lettered=False)
