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
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass
from datetime import datetime
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
from hookrelay.delivery.decide import DeadLetter
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


def handle_phased(records: list[SqsRecord], deps: HandlerDeps) -> list[RecordOutcome]:
    """An unpaced standard batch in three phases, so that the delivery threads hold the GIL only for
    the network: (1) admit, decide and sign every record on this thread; (2) the POSTs, concurrently
    (up to post_concurrency), nothing but the HTTP exchange in the threads; (3) classify each answer,
    decide, settle and report, on this thread. A crash in any phase fails its record alone."""
    outcomes: list[RecordOutcome | None] = [None] * len(records)
    pending: list[_Pending] = []
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
            outcomes[index] = ready

    def post(p: _Pending) -> Exchanged | Exception:
        try:
            return exchange(p.request, endpoint, transport)
        except Exception as exc:  # a bug, not the network: that record fails alone (phase 3)
            return exc

    if len(pending) <= 1 or deps.settings.post_concurrency == 1:
        answers = [post(p) for p in pending]
    else:
        # A copy of this context per POST: X-Ray's urllib3 subsegments find the invocation's segment.
        # One wake-up of this thread when the last POST is done (map would wake it once per POST).
        pool = deps.pool()
        runs = [pool.submit(contextvars.copy_context().run, post, p) for p in pending]
        futures.wait(runs)
        answers = [run.result() for run in runs]
    for p, answer in zip(pending, answers, strict=True):
        try:
            if isinstance(answer, Exception):
                raise answer
            outcomes[p.index] = _conclude(p, answer, endpoint, deps)
        except Exception as exc:
            outcomes[p.index] = _crashed(p.record, deps, exc)
    return [o for o in outcomes if o is not None]


def _prepare(
    index: int, record: SqsRecord, endpoint: Endpoint, deps: HandlerDeps
) -> _Pending | RecordOutcome:
    """Phase 1 for one record: parked as poison, deferred (both settled here), or signed for its POST."""
    settings, now = deps.settings, deps.clock()
    message = decide.admit(record.body, settings.partner_id)
    if isinstance(message, DeadLetter):
        settle(message, None, record.body, settings, now, deps.sqs)
        return report.poisoned(record.message_id, message.reason, settings, now)
    wait = decide.before_attempt(message.delivery, now)
    if wait is not None:
        settle(wait, message, record.body, settings, now, deps.sqs)
        return report.deferred(record.message_id)
    secrets = deps.keys.get().active_secrets(now)
    request = prepare_request(message, endpoint, secrets, now)
    return _Pending(index, record, message, request, now)


def _conclude(p: _Pending, answer: Exchanged, endpoint: Endpoint, deps: HandlerDeps) -> RecordOutcome:
    """Phase 3 for one record: classify the answer, decide its next step, settle it, report it."""
    settings = deps.settings
    result = classify(p.request, answer, endpoint.excerpt_bytes)
    step = decide.after_attempt(result, p.message.delivery, settings.retry_policy, deps.rand())
    settle(step, p.message, p.record.body, settings, p.now, deps.sqs)
    return report.attempted(p.record.message_id, p.message, result, step, settings)


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
