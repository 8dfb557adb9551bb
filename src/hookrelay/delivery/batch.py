"""The delivery handler's core: one SQS batch in, a partial batch response out.

Each record is handled on its own (concurrently, up to the partner's post concurrency) and ends in
exactly one of these, *confirmed before the record is reported done*:

- delivered (2xx);
- re-sent to the partner queue with its next delivery state (a retry, or a wait chained through
  15-minute SQS delays until the message is due);
- sent to the partner's dead-letter queue with a reason (invalid body, wrong partner, 410 Gone,
  refused destination, retries exhausted).

A record whose next step could not be confirmed, or whose handling crashed, is reported as a batch
item failure: SQS makes it visible again after the visibility timeout, and nothing is lost.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from pydantic import ValidationError

from hookrelay import observability
from hookrelay.attempts.publisher import ResultsPublisher
from hookrelay.aws import sqs as queues
from hookrelay.aws.sqs_event import SqsEvent, SqsRecord, batch_response
from hookrelay.delivery.attempt import AttemptResult, Endpoint, Verdict, attempt_delivery
from hookrelay.delivery.transport import build_session
from hookrelay.errors import InvalidInput, validation_message
from hookrelay.models import (
    AttemptRecord,
    DeliveryState,
    ErrorKind,
    LastResult,
    Outcome,
    WebhookMessage,
    utcnow,
)
from hookrelay.retry import next_attempt, sqs_delay_seconds
from hookrelay.settings import HandlerSettings
from hookrelay.signing.keys import CachedSigningKeys

logger = logging.getLogger(__name__)


@dataclass
class HandlerDeps:
    """Everything one partner's handler needs; built once per container (or per local partner)."""

    settings: HandlerSettings
    session: requests.Session
    keys: CachedSigningKeys
    results: ResultsPublisher
    sqs: Any | None = None
    clock: Callable[[], datetime] = utcnow
    rand: Callable[[], float] = random.random
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def pool(self) -> ThreadPoolExecutor:
        """The delivery threads, started once per container (not once per batch)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.settings.post_concurrency, thread_name_prefix="deliver"
            )
        return self._pool

    @property
    def endpoint(self) -> Endpoint:
        s = self.settings
        return Endpoint(
            url=s.partner_url,
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            legacy_signature=s.legacy_signature,
            excerpt_bytes=s.response_excerpt_bytes,
        )


def build_deps(
    settings: HandlerSettings, sqs: Any | None = None, secretsmanager: Any | None = None
) -> HandlerDeps:
    return HandlerDeps(
        settings=settings,
        session=build_session(settings.networks, pool_size=settings.post_concurrency),
        keys=CachedSigningKeys(
            settings.secret_id, settings.secret_cache_seconds, secretsmanager=secretsmanager
        ),
        results=ResultsPublisher(settings.results_queue_url, sqs),
        sqs=sqs,
    )


@dataclass
class RecordOutcome:
    message_id: str
    ok: bool
    record: AttemptRecord | None = None
    metrics: dict[str, int] = field(default_factory=dict)
    latency_ms: int | None = None


def handle_batch(event: Mapping[str, Any], deps: HandlerDeps) -> dict[str, list[dict[str, str]]]:
    """Deliver every record of a Lambda SQS event; return ``batchItemFailures``."""
    try:
        parsed = SqsEvent.model_validate(event)
    except ValidationError as exc:
        raise InvalidInput(f"not an SQS event: {exc.error_count()} validation errors") from exc
    records = parsed.records
    if len(records) == 1 or deps.settings.post_concurrency == 1:
        outcomes = [_guarded(record, deps) for record in records]
    else:
        outcomes = list(deps.pool().map(lambda r: _guarded(r, deps), records))
    # Every record's fate is settled: nothing after this may fail the invocation, or SQS would
    # deliver webhooks that already arrived a second time.
    try:
        deps.results.publish([o.record for o in outcomes if o.record is not None])
        _emit_metrics(outcomes, deps)
    except Exception:
        logger.exception(
            "attempt records or metrics not published", extra={"partner_id": deps.settings.partner_id}
        )
    return batch_response([o.message_id for o in outcomes if not o.ok])


def _guarded(record: SqsRecord, deps: HandlerDeps) -> RecordOutcome:
    """A crash on one record fails that record alone. On the queue's last receive (SQS would move
    the message to the DLQ on the next one, with no word why) it is dead-lettered with the error."""
    try:
        return handle_record(record, deps)
    except Exception as exc:
        last = deps.settings.max_receive_count
        final = last is not None and record.receive_count >= last
        logger.exception(
            "record handling failed; " + ("dead-lettering it" if final else "it stays on the queue"),
            extra={
                "message_id": record.message_id,
                "partner_id": deps.settings.partner_id,
                "receive_count": record.receive_count,
            },
        )
        if final:
            reason = f"handling failed on all {record.receive_count} receives; last: {type(exc).__name__}"
            try:
                _dead_letter(record.body, f"{reason}: {str(exc)[:300]}", deps, deps.clock())
                return RecordOutcome(
                    record.message_id, ok=True, metrics={"HandlerErrors": 1, "DeadLettered": 1}
                )
            except Exception:
                logger.exception("could not dead-letter it either; SQS's redrive will")
        return RecordOutcome(record.message_id, ok=False, metrics={"HandlerErrors": 1})


def handle_record(record: SqsRecord, deps: HandlerDeps) -> RecordOutcome:
    settings = deps.settings
    now = deps.clock()
    try:
        message = WebhookMessage.model_validate_json(record.body)
    except ValidationError as exc:
        reason = f"invalid message: {validation_message(exc)}"
        return _poison(record, reason, deps, now)
    if message.partner_id != settings.partner_id:
        reason = f"invalid message: partner_id {message.partner_id!r} on {settings.partner_id}'s queue"
        return _poison(record, reason, deps, now)

    if not message.delivery.is_due(now):
        # Not due yet: chain another (at most 15 minute) delay on the same queue.
        queues.send_message(
            settings.queue_url,
            message.to_sqs_body(),
            delay_seconds=sqs_delay_seconds(message.delivery.next_attempt_at, now),
            sqs=deps.sqs,
        )
        return RecordOutcome(record.message_id, ok=True, metrics={"Deferred": 1})

    secrets = deps.keys.get().active_secrets(now)
    result = attempt_delivery(message, deps.endpoint, secrets, deps.session, now)
    return _settle(record, message, result, deps, now)


def _settle(
    record: SqsRecord,
    message: WebhookMessage,
    result: AttemptResult,
    deps: HandlerDeps,
    now: datetime,
) -> RecordOutcome:
    settings = deps.settings
    attempt = message.delivery.attempt + 1
    first = message.delivery.first_attempt_at or now
    last = LastResult(
        attempt=attempt,
        at=now,
        status_code=result.status_code,
        error_kind=result.error_kind,
        error=result.error,
    )
    state = DeliveryState(attempt=attempt, first_attempt_at=first, last_result=last)
    next_at = None
    metric = "Delivered"

    if result.verdict is Verdict.SUCCESS:
        outcome = Outcome.DELIVERED
    elif result.verdict is Verdict.RETRY:
        decision = next_attempt(settings.retry_policy, attempt, first, now, result.retry_after, deps.rand)
        if decision.give_up:
            outcome, metric = Outcome.DEAD_LETTERED, "DeadLettered"
            reason = f"retries exhausted after {attempt} attempts; last: {result.error}"
            _dead_letter(message.with_delivery(state).to_sqs_body(), reason, deps, now)
        else:
            outcome, metric, next_at = Outcome.RETRY_SCHEDULED, "Retried", decision.next_attempt_at
            state.next_attempt_at = next_at
            queues.send_message(
                settings.queue_url,
                message.with_delivery(state).to_sqs_body(),
                delay_seconds=sqs_delay_seconds(next_at, now),
                sqs=deps.sqs,
            )
    else:
        gone = result.verdict is Verdict.GONE
        outcome, metric = (Outcome.GONE, "Gone") if gone else (Outcome.DEAD_LETTERED, "DeadLettered")
        reason = (
            "gone: the endpoint answered 410 Gone; the partner wants disabling"
            if gone
            else f"refused destination: {result.error}"
        )
        _dead_letter(message.with_delivery(state).to_sqs_body(), reason, deps, now)

    attempt_record = AttemptRecord(
        webhook_id=message.id,
        partner_id=message.partner_id,
        topic=message.topic,
        attempt=attempt,
        url=observability.redact_url(settings.partner_url),
        at=now,
        outcome=outcome,
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        response_excerpt=result.excerpt,
        error_kind=result.error_kind,
        error=result.error,
        next_attempt_at=next_at,
    )
    log = logger.warning if outcome in (Outcome.DEAD_LETTERED, Outcome.GONE) else logger.info
    log(
        "delivery attempt",
        extra=attempt_record.model_dump(mode="json", exclude={"response_excerpt"}),
    )
    counts = {metric: 1, "Attempts": 1}
    if result.verdict is not Verdict.SUCCESS:
        counts["Failed"] = 1
    return RecordOutcome(
        record.message_id,
        ok=True,
        record=attempt_record,
        metrics=counts,
        latency_ms=result.duration_ms,
    )


def _poison(record: SqsRecord, reason: str, deps: HandlerDeps, now: datetime) -> RecordOutcome:
    _dead_letter(record.body, reason, deps, now)
    logger.warning(
        "poison message dead-lettered",
        extra={
            "message_id": record.message_id,
            "partner_id": deps.settings.partner_id,
            "reason": reason,
        },
    )
    attempt_record = AttemptRecord(
        webhook_id=f"sqs:{record.message_id}",
        partner_id=deps.settings.partner_id,
        attempt=0,
        url=observability.redact_url(deps.settings.partner_url),
        at=now,
        outcome=Outcome.DEAD_LETTERED,
        error_kind=ErrorKind.INVALID_MESSAGE,
        error=reason[:500],
    )
    return RecordOutcome(
        record.message_id, ok=True, record=attempt_record, metrics={"DeadLettered": 1, "Poison": 1}
    )


def _dead_letter(body: str, reason: str, deps: HandlerDeps, now: datetime) -> None:
    queues.send_message(
        deps.settings.dead_letter_queue_url,
        body,
        attributes={
            queues.REASON_ATTRIBUTE: reason[:1000],
            queues.ORIGIN_ATTRIBUTE: deps.settings.queue_url,
            queues.DEAD_LETTERED_AT_ATTRIBUTE: now.isoformat(),
        },
        sqs=deps.sqs,
    )


def _emit_metrics(outcomes: list[RecordOutcome], deps: HandlerDeps) -> None:
    settings = deps.settings
    emf = observability.metrics(settings.metrics_namespace, "handler", partner=settings.partner_id)
    totals: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.latency_ms is not None:
            emf.add_metric(name="Latency", unit=observability.MILLISECONDS, value=outcome.latency_ms)
        for name, value in outcome.metrics.items():
            totals[name] = totals.get(name, 0) + value
    for name, value in sorted(totals.items()):
        emf.add_metric(name=name, unit=observability.COUNT, value=value)
    emf.flush_metrics()
