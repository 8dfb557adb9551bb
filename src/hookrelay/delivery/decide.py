"""Decide: what becomes of one record, from the facts alone. Pure: no clock, no random, no I/O.

Each function answers one moment of a record's handling with exactly one step (``settle`` carries it out):

- :func:`admit` (the body arrived): the message, or :class:`DeadLetter` for a poison body (invalid, or
  another partner's), parked unchanged;
- :func:`before_attempt` (the message is valid): :class:`DeferUntil` if it is not yet due (put back
  unchanged, nobody called), else ``None``: attempt it;
- :func:`after_attempt` (the partner answered, or did not): :class:`Delivered`, :class:`RetryAt` (re-sent
  with its next delivery state), :class:`DeadLetter` (retries exhausted, refused destination) or
  :class:`Gone` (410);
- :func:`after_crash` (handling raised): :class:`DeadLetter` on the queue's last receive (SQS would
  otherwise move it to the DLQ silently on the next one), else :class:`LeaveOnQueue`.

The steps are small frozen dataclasses; ``state`` is the delivery state the re-sent or parked message
carries (``None``: the body goes exactly as it came).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from hookrelay.delivery.attempt import AttemptResult, Verdict
from hookrelay.errors import validation_message
from hookrelay.models import DeliveryState, WebhookMessage
from hookrelay.retry import RetryPolicy, next_attempt

GONE_REASON = "gone: the endpoint answered 410 Gone; the partner wants disabling"
CRASH_TEXT_LIMIT = 300


@dataclass(frozen=True)
class Delivered:
    """2xx: nothing more to send."""


@dataclass(frozen=True)
class RetryAt:
    """Re-send to the partner queue, due at ``at`` (SQS delays it by at most 15 minutes)."""

    at: datetime
    state: DeliveryState


@dataclass(frozen=True)
class DeferUntil:
    """Not yet due: re-send unchanged, due at ``until``, without attempting it."""

    until: datetime


@dataclass(frozen=True)
class DeadLetter:
    """Park on the partner's dead-letter queue with ``reason``."""

    reason: str
    state: DeliveryState | None = None


@dataclass(frozen=True)
class Gone:
    """410 Gone: park on the dead-letter queue; the partner wants disabling."""

    reason: str
    state: DeliveryState


@dataclass(frozen=True)
class LeaveOnQueue:
    """Report the record failed: SQS makes it visible again after the visibility timeout."""


Step = Delivered | RetryAt | DeferUntil | DeadLetter | Gone | LeaveOnQueue


def admit(body: str, partner_id: str) -> WebhookMessage | DeadLetter:
    """The message in ``body``, or a dead-letter for a body that is not one of ``partner_id``'s."""
    try:
        message = WebhookMessage.model_validate_json(body)
    except ValidationError as exc:
        return DeadLetter(f"invalid message: {validation_message(exc)}")
    if message.partner_id != partner_id:
        return DeadLetter(f"invalid message: partner_id {message.partner_id!r} on {partner_id}'s queue")
    return message


def before_attempt(state: DeliveryState, now: datetime) -> DeferUntil | None:
    """A message received before it is due goes back for the time that remains."""
    if state.next_attempt_at is None or state.is_due(now):
        return None
    return DeferUntil(state.next_attempt_at)


def after_attempt(
    result: AttemptResult, state: DeliveryState, policy: RetryPolicy, draw: float
) -> Delivered | RetryAt | DeadLetter | Gone:
    """The step after attempt ``result.attempt`` (made at ``result.at``) of a message in ``state``.

    ``draw`` is the random fraction (0 to 1) of the retry gap added as jitter.
    """
    if result.verdict is Verdict.SUCCESS:
        return Delivered()
    first = state.first_attempt_at or result.at
    after = DeliveryState(attempt=result.attempt, first_attempt_at=first, last_result=result.last_result())
    if result.verdict is Verdict.GONE:
        return Gone(GONE_REASON, after)
    if result.verdict is Verdict.PERMANENT:
        return DeadLetter(f"refused destination: {result.error}", after)
    decision = next_attempt(policy, result.attempt, first, result.at, result.retry_after, lambda: draw)
    if decision.give_up or decision.next_attempt_at is None:
        reason = f"retries exhausted after {result.attempt} attempts; last: {result.error}"
        return DeadLetter(reason, after)
    due = decision.next_attempt_at
    return RetryAt(due, after.model_copy(update={"next_attempt_at": due}))


def after_crash(
    error: BaseException, receive_count: int, max_receive_count: int | None
) -> DeadLetter | LeaveOnQueue:
    """A record whose handling raised stays on its queue, unless this is the queue's last receive."""
    if max_receive_count is None or receive_count < max_receive_count:
        return LeaveOnQueue()
    text = str(error)[:CRASH_TEXT_LIMIT]
    return DeadLetter(
        f"handling failed on all {receive_count} receives; last: {type(error).__name__}: {text}"
    )
