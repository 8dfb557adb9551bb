"""Ordered delivery, done: a FIFO batch's groups run side by side, each group's records one after the
other, each group stopped at its first record that does not end (:mod:`hookrelay.delivery.ordered`
decides; this module carries out).

A record ends (reported done, Lambda deletes it) when it was delivered, or dead-lettered on the FIFO
dead-letter queue (same message group; deduplication id from the webhook id and the SQS message id, so
a dead-letter repeated after a crash is swallowed by SQS, not parked twice) once SQS confirmed it. A
record that does not end is *held*: its visibility changed to its next time (a retry, a re-deferral,
or a blocked group's next try); it and every later record of its group are reported failed, and the
later ones are made visible at once (SQS keeps the group locked while its head is in flight, so they
wait behind it, in order, instead of for the queue's visibility timeout). A crash holds the record
until the visibility timeout, except on the queue's last receive (dead-lettered with the error).

Pacing does not apply to a FIFO partner (docs/ordering.md): one group is one POST at a time anyway.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
from datetime import datetime

from hookrelay.aws.sqs_event import SqsRecord
from hookrelay.aws.sqs_visibility import change_visibility, release
from hookrelay.delivery import decide, ordered, report
from hookrelay.delivery.attempt import attempt_delivery
from hookrelay.delivery.crash import record_crashed
from hookrelay.delivery.decide import DeadLetter, Gone
from hookrelay.delivery.deps import HandlerDeps
from hookrelay.delivery.ordered import Hold
from hookrelay.delivery.report import RecordOutcome
from hookrelay.delivery.settle import dead_letter
from hookrelay.partners.ordering import again_dedup_id, group_id

logger = logging.getLogger(__name__)


def handle_fifo_batch(records: list[SqsRecord], deps: HandlerDeps) -> list[RecordOutcome]:
    """Every record's outcome, in batch order; the groups run concurrently (up to post_concurrency)."""
    groups = ordered.groups(records)
    if len(groups) == 1 or deps.settings.post_concurrency == 1:
        results = [handle_group(group, deps) for group in groups]
    else:
        # Each thread runs in a copy of this context, so its log lines carry the invocation's fields.
        contexts = [contextvars.copy_context() for _ in groups]

        def run(context: contextvars.Context, group: list[SqsRecord]) -> list[RecordOutcome]:
            return context.run(handle_group, group, deps)

        results = list(deps.pool().map(run, contexts, groups))
    by_id = {o.message_id: o for outcomes in results for o in outcomes}
    return [by_id[r.message_id] for r in records]


def handle_group(group: list[SqsRecord], deps: HandlerDeps) -> list[RecordOutcome]:
    """The group's records in order, until one is held: it and the rest are reported failed."""
    outcomes: list[RecordOutcome] = []
    for index, record in enumerate(group):
        outcome = _guarded(record, deps)
        outcomes.append(outcome)
        if not outcome.ok:
            rest = group[index + 1 :]
            outcomes += [RecordOutcome(r.message_id, False, metrics={"HeldBehind": 1}) for r in rest]
            refused = release(deps.settings.queue_url, [r.receipt_handle for r in rest], deps.sqs)
            if refused:
                logger.warning(
                    "could not release records behind a held one; they wait for the visibility timeout",
                    extra={"partner_id": deps.settings.partner_id, "count": refused},
                )
            break
    return outcomes


def handle_record(record: SqsRecord, deps: HandlerDeps) -> RecordOutcome:
    """One FIFO record: admit it, hold it if it is not due, else attempt it and carry out the step."""
    settings, now = deps.settings, deps.clock()
    message = decide.admit(record.body, settings.partner_id)
    if isinstance(message, DeadLetter):
        _dead_letter(record, record.body, f"sqs:{record.message_id}", message.reason, deps, now)
        return report.poisoned(record.message_id, message.reason, settings, now)
    policy, first = settings.retry_policy, ordered.first_receive(record, now)
    if not ordered.is_due(policy, first, now):
        _hold(record, ordered.hold_until(ordered.next_due(policy, first, now), now), deps, now)
        return RecordOutcome(record.message_id, False, metrics={"Deferred": 1})
    message = message.with_delivery(ordered.clock_state(policy, first, now))
    secrets = deps.keys.get().active_secrets(now)
    result = attempt_delivery(message, deps.endpoint, secrets, deps.transport, now)
    step = ordered.after_attempt(result, policy, first, deps.rand(), settings.block_on_failure)
    if isinstance(step, Hold):
        _hold(record, step.until, deps, result.at)
        assert step.step is not None  # a hold after an attempt always says when the next one is
        return dataclasses.replace(
            report.attempted(record.message_id, message, result, step.step, settings), ok=False
        )
    if isinstance(step, DeadLetter | Gone):
        body = message.with_delivery(step.state).to_sqs_body() if step.state else record.body
        _dead_letter(record, body, message.id, step.reason, deps, now)
    return report.attempted(record.message_id, message, result, step, settings)


def _guarded(record: SqsRecord, deps: HandlerDeps) -> RecordOutcome:
    """A crash holds the record (until the visibility timeout: its group waits), or on the queue's last
    receive dead-letters it with the error, in its group (``crash.record_crashed``)."""
    try:
        return handle_record(record, deps)
    except Exception as exc:

        def park(reason: str) -> None:
            _dead_letter(record, record.body, record.message_id, reason, deps, deps.clock())

        return record_crashed(record, deps, exc, park)


def _hold(record: SqsRecord, until: datetime, deps: HandlerDeps, now: datetime) -> None:
    """Hide the record until ``until`` (whole seconds, rounded up so it never comes back early)."""
    seconds = max(0, -int(-(until - now).total_seconds() // 1))
    change_visibility(deps.settings.queue_url, record.receipt_handle, seconds, deps.sqs)


def _dead_letter(
    record: SqsRecord, body: str, webhook_id: str, reason: str, deps: HandlerDeps, now: datetime
) -> None:
    """Park ``body`` on the FIFO dead-letter queue, in the record's group, saying why and whence."""
    dead_letter(
        body,
        reason,
        deps.settings,
        now,
        deps.sqs,
        group_id=group_id(ordered.group_of(record)),
        # the same for every receive of one SQS message (a repeated dead-letter is swallowed), another for
        # the same webhook moved back and failed again
        deduplication_id=again_dedup_id(webhook_id, record.message_id),
    )
