"""What one handled record reports: its attempt record (built here and nowhere else), its log line and
its metric counts, gathered in a :class:`RecordOutcome`; and the batch's EMF metrics.

An attempt record holds no secret and shows the partner URL without its query string. Poison bodies get
a record too (webhook id ``sqs:<messageId>``, attempt 0, error kind ``invalid_message``), so the
deliveries table shows what was parked and why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from hookrelay import observability
from hookrelay.delivery.attempt import AttemptResult, Verdict
from hookrelay.delivery.decide import DeadLetter, Delivered, Gone, RetryAt
from hookrelay.models import AttemptRecord, ErrorKind, Outcome, WebhookMessage
from hookrelay.settings import HandlerSettings

logger = logging.getLogger(__name__)

# After an attempt: the outcome recorded and the metric counted, per step.
_AFTER_ATTEMPT: dict[type, tuple[Outcome, str]] = {
    Delivered: (Outcome.DELIVERED, "Delivered"),
    RetryAt: (Outcome.RETRY_SCHEDULED, "Retried"),
    DeadLetter: (Outcome.DEAD_LETTERED, "DeadLettered"),
    Gone: (Outcome.GONE, "Gone"),
}
ERROR_LIMIT = 500


@dataclass
class RecordOutcome:
    """One record's fate: ``ok`` (report it done) or not (it stays on the queue), and what it reports."""

    message_id: str
    ok: bool
    record: AttemptRecord | None = None
    metrics: dict[str, int] = field(default_factory=dict)
    latency_ms: int | None = None


def attempted(
    message_id: str,
    message: WebhookMessage,
    result: AttemptResult,
    step: Delivered | RetryAt | DeadLetter | Gone,
    settings: HandlerSettings,
) -> RecordOutcome:
    """An attempt was made and its step carried out: one attempt record, one log line."""
    outcome, metric = _AFTER_ATTEMPT[type(step)]
    record = AttemptRecord(
        webhook_id=message.id,
        partner_id=message.partner_id,
        topic=message.topic,
        url=observability.redact_url(settings.partner_url),
        outcome=outcome,
        next_attempt_at=step.at if isinstance(step, RetryAt) else None,
        **result.answer_fields(),
    )
    log_attempt(record)
    counts = {metric: 1, "Attempts": 1}
    if result.verdict is not Verdict.SUCCESS:
        counts["Failed"] = 1
    return RecordOutcome(message_id, True, record, counts, result.duration_ms)


def log_attempt(record: AttemptRecord) -> None:
    """The one JSON log line per attempt: the attempt record's fields, less the response excerpt."""
    log = logger.warning if record.outcome in (Outcome.DEAD_LETTERED, Outcome.GONE) else logger.info
    fields = record.model_dump(mode="json", exclude={"response_excerpt"}, exclude_none=True)
    log("delivery attempt", extra=fields)  # (the formatter leaves None out anyway; so it has less to do)


def poisoned(message_id: str, reason: str, settings: HandlerSettings, now: datetime) -> RecordOutcome:
    """A body that is not a message of this partner's was parked: no attempt, a record of why."""
    logger.warning(
        "poison message dead-lettered",
        extra={"message_id": message_id, "partner_id": settings.partner_id, "reason": reason},
    )
    record = AttemptRecord(
        webhook_id=f"sqs:{message_id}",
        partner_id=settings.partner_id,
        attempt=0,
        url=observability.redact_url(settings.partner_url),
        at=now,
        outcome=Outcome.DEAD_LETTERED,
        error_kind=ErrorKind.INVALID_MESSAGE,
        error=reason[:ERROR_LIMIT],
    )
    return RecordOutcome(message_id, True, record, {"DeadLettered": 1, "Poison": 1})


def deferred(message_id: str) -> RecordOutcome:
    return RecordOutcome(message_id, True, metrics={"Deferred": 1})


def crashed(message_id: str, dead_lettered: bool) -> RecordOutcome:
    """Handling raised: the record was dead-lettered with the error, or it stays on the queue."""
    if dead_lettered:
        return RecordOutcome(message_id, True, metrics={"HandlerErrors": 1, "DeadLettered": 1})
    return RecordOutcome(message_id, False, metrics={"HandlerErrors": 1})


def emit_metrics(outcomes: list[RecordOutcome], settings: HandlerSettings) -> None:
    """One EMF document per batch: the summed counts and each attempt's latency, per partner."""
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
