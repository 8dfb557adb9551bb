"""The delivery handler's batch loop: one Lambda SQS batch in, a partial batch response out.

Each record is handled on its own: admitted or parked as poison, deferred if not yet due (or, for a
paced partner, if its send slot is beyond the batch's budget: :mod:`~hookrelay.delivery.pacer`),
attempted; :mod:`~hookrelay.delivery.decide` chooses its next step from the facts,
:mod:`~hookrelay.delivery.settle` carries it out, :mod:`~hookrelay.delivery.report` builds what it
reports. An unpaced standard batch runs in phases (:mod:`~hookrelay.delivery.phased`): every record's
CPU work on the invoking thread, only the POSTs on the delivery threads (concurrently, up to the
partner's post concurrency); a paced batch handles each record whole on those threads, and a FIFO
batch each message group (:mod:`~hookrelay.delivery.ordered_batch`). Each record ends in exactly one of
these, *confirmed before the record is reported done*:

- delivered (2xx);
- re-sent to the partner queue with its next delivery state (a retry, or a wait chained through
  15-minute SQS delays until the message is due);
- sent to the partner's dead-letter queue with a reason (invalid body, wrong partner, 410 Gone,
  refused destination, retries exhausted, handling failed on the queue's last receive).

Each attempt (and each parked poison body) writes its attempt record as one marked JSON log line
(:func:`~hookrelay.delivery.report.log_attempt`) as it is reported, before the batch returns; a
CloudWatch Logs subscription takes it to the stage's recorder. The handler makes no call to publish it.

A record whose next step could not be confirmed, or whose handling crashed, is reported as a batch
item failure: SQS makes it visible again after the visibility timeout, and nothing is lost.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hookrelay.aws.sqs_event import SqsEvent, SqsRecord, batch_response
from hookrelay.delivery import decide, report
from hookrelay.delivery.attempt import attempt_delivery
from hookrelay.delivery.crash import record_crashed
from hookrelay.delivery.decide import DeadLetter
from hookrelay.delivery.deps import HandlerDeps
from hookrelay.delivery.phased import handle_phased
from hookrelay.delivery.report import RecordOutcome
from hookrelay.delivery.settle import settle
from hookrelay.errors import InvalidInput
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
    # deliver webhooks that already arrived a second time. (The attempt records are already written:
    # each is its attempt's log line, report.log_attempt.)
    try:
        report.emit_metrics(outcomes, deps.settings)
        if deps.pacer is not None and pace is not None:
            deps.pacer.end(pace)
    except Exception:
        logger.exception(
            "metrics or pacing state not published",
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


def _guarded(record: SqsRecord, deps: HandlerDeps, pace: BatchPace | None = None) -> RecordOutcome:
    """A crash on one record fails that record alone (:func:`~hookrelay.delivery.crash.record_crashed`)."""
    try:
        return handle_record(record, deps, pace)
    except Exception as exc:
        return record_crashed(record, deps, exc)
