"""Settle: carry out the step :mod:`hookrelay.delivery.decide` chose for one record.

Every send returns only once SQS has confirmed it, and raises (a domain error from
:mod:`hookrelay.aws.sqs`) otherwise, so the caller reports the record done only when its next step is
safe: SQS deletes a record reported done, and a record whose step failed reappears after the visibility
timeout. Nothing is lost.

- :class:`~hookrelay.delivery.decide.RetryAt`, :class:`~hookrelay.delivery.decide.DeferUntil`: the
  message goes back on the partner queue (with its new delivery state, or unchanged), delayed by the
  time that remains, at most SQS's 15 minutes;
- :class:`~hookrelay.delivery.decide.DeadLetter`, :class:`~hookrelay.delivery.decide.Gone`: the message
  (with its new delivery state, or the body exactly as it came) goes to the partner's dead-letter queue
  with the ``HookrelayDeadLetterReason``, ``HookrelayOriginQueue`` and ``HookrelayDeadLetteredAt``
  attributes;
- :class:`~hookrelay.delivery.decide.Delivered`, :class:`~hookrelay.delivery.decide.LeaveOnQueue`:
  nothing to send.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from hookrelay.aws import sqs as queues
from hookrelay.delivery.decide import DeadLetter, DeferUntil, Gone, RetryAt, Step
from hookrelay.models import DeliveryState, WebhookMessage
from hookrelay.retry import sqs_delay_seconds
from hookrelay.settings import HandlerSettings

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

REASON_LIMIT = 1000


def settle(
    step: Step,
    message: WebhookMessage | None,
    body: str,
    settings: HandlerSettings,
    now: datetime,
    sqs: SQSClient | None = None,
) -> None:
    """Carry out ``step`` for the record whose body is ``body`` (``message`` once it was admitted)."""
    if isinstance(step, RetryAt | DeferUntil):
        state = step.state if isinstance(step, RetryAt) else None
        due = step.at if isinstance(step, RetryAt) else step.until
        queues.send_message(
            settings.queue_url,
            _outgoing(message, body, state),
            delay_seconds=sqs_delay_seconds(due, now),
            sqs=sqs,
        )
    elif isinstance(step, DeadLetter | Gone):
        dead_letter(_outgoing(message, body, step.state), step.reason, settings, now, sqs)


def dead_letter(
    body: str,
    reason: str,
    settings: HandlerSettings,
    now: datetime,
    sqs: SQSClient | None = None,
    *,
    group_id: str | None = None,
    deduplication_id: str | None = None,
) -> None:
    """Park ``body`` on the partner's dead-letter queue, saying why and where it came from (a FIFO
    dead-letter queue: in message group ``group_id``, deduplicated by ``deduplication_id``)."""
    queues.send_message(
        settings.dead_letter_queue_url,
        body,
        attributes={
            queues.REASON_ATTRIBUTE: reason[:REASON_LIMIT],
            queues.ORIGIN_ATTRIBUTE: settings.queue_url,
            queues.DEAD_LETTERED_AT_ATTRIBUTE: now.isoformat(),
        },
        group_id=group_id,
        deduplication_id=deduplication_id,
        sqs=sqs,
    )


def _outgoing(message: WebhookMessage | None, body: str, state: DeliveryState | None) -> str:
    """The message with its new delivery state; unchanged when there is none; the body as it came when
    it never was a message."""
    if message is None:
        return body
    return (message if state is None else message.with_delivery(state)).to_sqs_body()
