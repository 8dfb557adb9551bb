"""What one handled record reports: its attempt record (built here and nowhere else), its log line and
its metric counts, gathered in a :class:`RecordOutcome`; and the batch's EMF metrics.

The attempt record *is* the log line: :func:`log_attempt` writes one JSON line per attempt with the
record's fields at the top level (``response_excerpt`` included) and the mark
:data:`~hookrelay.models.ATTEMPT_LINE_MARK` (``"record": "attempt"``). Lambda writes it to the function's
log group and a CloudWatch Logs subscription filter hands it to the stage's recorder
(:mod:`hookrelay.attempts.lines`); the handler sends its records nowhere. The line goes through
:data:`attempt_logger`, pinned to INFO, so it is written whatever ``LOG_LEVEL`` says (it still reaches
the root logger's JSON handler); it is written as the record is reported, before the batch returns.

An attempt record holds no secret and shows the partner URL without its query string. Poison bodies get
a record too (webhook id ``sqs:<messageId>``, attempt 0, error kind ``invalid_message``), so the
deliveries table shows what was parked and why.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from hookrelay import observability
from hookrelay.delivery.attempt import AttemptResult, Verdict
from hookrelay.delivery.decide import DeadLetter, Delivered, Gone, RetryAt
from hookrelay.models import ATTEMPT_LINE_MARK, AttemptRecord, ErrorKind, Outcome, WebhookMessage
from hookrelay.settings import HandlerSettings

logger = logging.getLogger(__name__)
# The attempt lines' own logger: pinned to INFO (LOG_LEVEL=WARNING must not lose a record), propagating
# to the root logger's JSON handler like every other line.
ATTEMPT_LOGGER = f"{__name__}.attempts"
attempt_logger = logging.getLogger(ATTEMPT_LOGGER)
attempt_logger.setLevel(logging.INFO)

# After an attempt: the outcome recorded and the metric counted, per step.
_AFTER_ATTEMPT: dict[type, tuple[Outcome, str]] = {
    Delivered: (Outcome.DELIVERED, "Delivered"),
    RetryAt: (Outcome.RETRY_SCHEDULED, "Retried"),
    DeadLetter: (Outcome.DEAD_LETTERED, "DeadLettered"),
    Gone: (Outcome.GONE, "Gone"),
}
ERROR_LIMIT = 500
# CloudWatch Logs keeps an event of up to 256 KiB and Lambda splits a longer line, which the recorder
# could not read. An excerpt (up to 64 KiB of the answer, decoded) can grow up to 6x as JSON (``\u0000``):
# one longer than EXCERPT_CHECKED characters is shortened until its JSON fits EXCERPT_LINE_BYTES.
EXCERPT_CHECKED = 16_384
EXCERPT_LINE_BYTES = 98_304


@dataclass
class RecordOutcome:
    """One record's fate: ``ok`` (report it done) or not (it stays on the queue), and what it counts (its
    attempt record is already written: its log line)."""

    message_id: str
    ok: bool
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
    return RecordOutcome(message_id, True, counts, result.duration_ms)


def log_attempt(record: AttemptRecord, message: str = "delivery attempt", **extra: str) -> None:
    """The one JSON log line per attempt: the whole attempt record at the top level, marked
    (:data:`~hookrelay.models.ATTEMPT_LINE_MARK`) for the recorder's subscription filter; a warning when
    the webhook was dead-lettered or the endpoint is gone."""
    bad = record.outcome in (Outcome.DEAD_LETTERED, Outcome.GONE)
    fields = record.model_dump(mode="json", exclude_none=True)  # (the formatter would drop None anyway)
    fields[ATTEMPT_LINE_MARK[0]] = ATTEMPT_LINE_MARK[1]
    excerpt = record.response_excerpt
    if excerpt is not None and len(excerpt) > EXCERPT_CHECKED:
        fields["response_excerpt"] = fitted_excerpt(excerpt)
    if extra:
        fields.update(extra)
    attempt_logger.log(logging.WARNING if bad else logging.INFO, message, extra=fields)


def fitted_excerpt(excerpt: str, limit: int = EXCERPT_LINE_BYTES) -> str:
    """``excerpt``, or as much of its start as fits ``limit`` bytes once JSON-encoded (as the line is)."""
    while len(json.dumps(excerpt).encode()) > limit:
        excerpt = excerpt[: len(excerpt) * 3 // 4]
    return excerpt


def poisoned(message_id: str, reason: str, settings: HandlerSettings, now: datetime) -> RecordOutcome:
    """A body that is not a message of this partner's was parked: no attempt, one line of why (its record)."""
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
    log_attempt(record, "poison message dead-lettered", message_id=message_id, reason=reason)
    return RecordOutcome(message_id, True, {"DeadLettered": 1, "Poison": 1})


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
