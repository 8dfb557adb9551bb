"""Ordered delivery, decided: what becomes of the records of a FIFO batch. Pure: no clock, no I/O.

A FIFO batch holds records of one or more message groups, each group's in queue order. Lambda's rule
for partial batch responses on FIFO queues: once a record of a group fails, that record and *every
later record of its group* are reported failed (they return to the queue, in order); the other groups
go on. :func:`groups` splits a batch; the batch runner walks each group in order and stops it at its
first record that does not end (:class:`Hold`).

Retries without re-sending. SQS FIFO has no per-message delay, and a re-send would put the message
behind the rest of its group, so a failed head stays where it is: its visibility is changed to the
schedule's next time (at most 11 h 45 min: SQS's 12 hours from the receive, less a Lambda run; a longer
wait is re-deferred when it comes back). The message
body cannot change either, so a FIFO message's place in its retry schedule is read from the clock:

- ``first`` is the message's first receive (SQS's ``ApproximateFirstReceiveTimestamp``); the schedule's
  attempt times are ``first`` and ``first + schedule_seconds[i]``;
- at a receive, the attempt due is the latest whose time has come (:func:`position`); it is made unless
  this receive is a re-deferral of a wait longer than one hold, i.e. unless that attempt time passed
  a whole hold (:data:`MAX_HOLD`) or more ago (:func:`is_due`);
- after a failed attempt ``n`` the next time is attempt ``n + 1``'s (plus jitter, or later if the
  partner asked with ``Retry-After``); after the last one the message is dead-lettered with its reason
  and the group moves on, or, with ``block_on_failure``, it is held again (every last gap) and the
  group stays stopped.

Receives are not attempts (re-deferrals, waits behind a failing head), so the FIFO queue's redrive
``maxReceiveCount`` is SQS's maximum (``partners.ordering``); a crash on that last receive dead-letters
the message here, with the error, as on a standard queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hookrelay.aws.sqs_event import SqsRecord
from hookrelay.delivery.attempt import AttemptResult, Verdict
from hookrelay.delivery.decide import GONE_REASON, DeadLetter, Delivered, Gone, RetryAt
from hookrelay.models import DUE_TOLERANCE, DeliveryState
from hookrelay.retry import RetryPolicy

# SQS refuses a visibility beyond 12 hours from the *receive*; the handler changes it up to a Lambda
# run (15 minutes) after the receive, so a hold is at most 12 h less that.
MAX_HOLD = timedelta(hours=12) - timedelta(minutes=15)
REDEFER_MARGIN = timedelta(seconds=1)
GROUP_ATTRIBUTE = "MessageGroupId"
FIRST_RECEIVE_ATTRIBUTE = "ApproximateFirstReceiveTimestamp"


@dataclass(frozen=True)
class Hold:
    """Keep the record on its queue, invisible until ``until``; it and the rest of its group are
    reported failed. ``attempted``: an attempt was made (its step is in ``step``)."""

    until: datetime
    step: RetryAt | None = None


def group_of(record: SqsRecord) -> str:
    """The record's message group ("" on a standard queue: the whole batch is then one group)."""
    value = record.attributes.get(GROUP_ATTRIBUTE)
    return value if isinstance(value, str) else ""


def first_receive(record: SqsRecord, now: datetime) -> datetime:
    """When SQS first handed the message out (``now`` when the record does not say)."""
    raw = record.attributes.get(FIRST_RECEIVE_ATTRIBUTE)
    try:
        at = datetime.fromtimestamp(int(str(raw)) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return now
    return min(at, now)


def groups(records: list[SqsRecord]) -> list[list[SqsRecord]]:
    """The batch's records by message group, each group in batch (queue) order, groups in order of
    their first record."""
    by_group: dict[str, list[SqsRecord]] = {}
    for record in records:
        by_group.setdefault(group_of(record), []).append(record)
    return list(by_group.values())


def attempt_times(policy: RetryPolicy, first: datetime) -> list[datetime]:
    """When each attempt of the schedule falls due: the first receive, then each retry's offset."""
    return [first] + [first + timedelta(seconds=s) for s in policy.schedule_seconds]


def position(policy: RetryPolicy, first: datetime, now: datetime) -> int:
    """The number (1-based) of the latest attempt whose time has come at ``now``."""
    times = attempt_times(policy, first)
    return max(n for n, at in enumerate(times, start=1) if at <= now + DUE_TOLERANCE or n == 1)


def is_due(policy: RetryPolicy, first: datetime, now: datetime) -> bool:
    """Attempt now, or is this a re-deferral of a wait longer than one hold (attempt ``n``'s time
    passed :data:`MAX_HOLD` or more ago, and attempt ``n + 1``'s is still ahead)?"""
    times = attempt_times(policy, first)
    n = position(policy, first, now)
    if n == len(times):
        return True
    # A whole hold may end up to a second early against attempt n's time (the attempt itself may be
    # made within DUE_TOLERANCE before it; holds are whole seconds): still a re-deferral.
    return now - times[n - 1] < MAX_HOLD - REDEFER_MARGIN


def next_due(policy: RetryPolicy, first: datetime, now: datetime) -> datetime:
    """Attempt ``position + 1``'s time (a deferred receive waits for it)."""
    times = attempt_times(policy, first)
    return times[min(position(policy, first, now), len(times) - 1)]


def clock_state(policy: RetryPolicy, first: datetime, now: datetime) -> DeliveryState:
    """The delivery state the clock gives a message first received at ``first``: the attempts before
    the one due now (the attempt sent as ``webhook-attempt`` is ``attempt + 1``)."""
    made = position(policy, first, now) - 1
    return DeliveryState(attempt=made, first_attempt_at=first if made else None)


def hold_until(due: datetime, now: datetime) -> datetime:
    """How long one visibility change can hide a message: until ``due``, at most :data:`MAX_HOLD`."""
    return min(due, now + MAX_HOLD)


def after_attempt(
    result: AttemptResult,
    policy: RetryPolicy,
    first: datetime,
    draw: float,
    block_on_failure: bool,
) -> Delivered | DeadLetter | Gone | Hold:
    """The step after attempt ``result.attempt`` (made at ``result.at``) of a FIFO message."""
    if result.verdict is Verdict.SUCCESS:
        return Delivered()
    now = result.at
    after = DeliveryState(attempt=result.attempt, first_attempt_at=first, last_result=result.last_result())
    times = attempt_times(policy, first)
    n = position(policy, first, now)
    final: DeadLetter | Gone | None = None
    if result.verdict is Verdict.GONE:
        final = Gone(GONE_REASON, after)
    elif result.verdict is Verdict.PERMANENT:
        final = DeadLetter(f"refused destination: {result.error}", after)
    elif n >= len(times):
        final = DeadLetter(f"retries exhausted after {result.attempt} attempts; last: {result.error}", after)
    if final is not None:
        if not block_on_failure:
            return final
        due = now + blocked_gap(policy)
    else:
        gap = times[n] - times[n - 1]
        due = times[n] + gap * policy.jitter * draw
        if result.retry_after is not None:
            asked = min(result.retry_after, timedelta(seconds=policy.max_retry_after_seconds))
            due = max(due, now + asked)
    return Hold(hold_until(due, now), RetryAt(due, after.model_copy(update={"next_attempt_at": due})))


def blocked_gap(policy: RetryPolicy) -> timedelta:
    """How often a blocked group's head is tried again: the schedule's last gap (at least a second,
    at most :data:`MAX_HOLD`)."""
    offsets = (0, *policy.schedule_seconds)
    last = offsets[-1] - offsets[-2] if len(offsets) >= 2 else 0
    return min(max(timedelta(seconds=last), timedelta(seconds=1)), MAX_HOLD)
