"""What becomes of a record whose handling raised, on every path (phased, paced, ordered): it stays on
the queue (reported as a batch item failure), except on the queue's last receive, where it is
dead-lettered with the error (SQS would move it to the DLQ on the next receive with no word why).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hookrelay.aws.sqs_event import SqsRecord
from hookrelay.delivery import decide, report
from hookrelay.delivery.decide import DeadLetter
from hookrelay.delivery.deps import HandlerDeps
from hookrelay.delivery.report import RecordOutcome
from hookrelay.delivery.settle import settle

logger = logging.getLogger(__name__)


def record_crashed(
    record: SqsRecord, deps: HandlerDeps, exc: Exception, park: Callable[[str], None] | None = None
) -> RecordOutcome:
    """Handling ``record`` raised ``exc``: it stays on the queue, except on the queue's last receive (SQS
    would move the message to the DLQ on the next one, with no word why): it is dead-lettered with the
    error, by ``park(reason)`` when given (an ordered partner's, in the record's group), else as
    :func:`~hookrelay.delivery.settle.settle` parks a body. Call from an ``except`` block (the log line
    carries the traceback)."""
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
    if isinstance(step, DeadLetter):
        try:
            if park is not None:
                park(step.reason)
            else:
                settle(step, None, record.body, deps.settings, deps.clock(), deps.sqs)
            return report.crashed(record.message_id, dead_lettered=True)
        except Exception:
            logger.exception("could not dead-letter it either; SQS's redrive will")
    return report.crashed(record.message_id, dead_lettered=False)
