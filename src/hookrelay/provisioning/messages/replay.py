"""Replay: a range of a partner's kept webhooks enqueued again, in the background, at a bounded rate.

``POST /partners/{id}/replay`` counts the matching webhooks (a Select=COUNT query of the ``by-time``
index: no body read), records the replay and sends its step 0 to the stage's replay queue, then answers
202. Each step (one work message, one worker invocation) reads up to ``replay_chunk_size`` webhook ids
from its cursor, loads them (BatchGetItem), sends them to the partner queue (SendMessageBatch, same
webhook-id, a fresh attempt count), records the step, and sends the next step with a delay of
``replay_delay_seconds``: at most a chunk per delay per replay reaches the partner queue, and the
partner's own concurrency and pace still rule delivery from there.

Crash-safe: a step killed before recording itself is delivered again by SQS and sends the same webhooks
again (at-least-once: same ids); its count is recorded once (a conditional update on the step number).
A step killed after recording itself but before sending the next step sends it when delivered again
(the replay item remembers which step was last sent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from hookrelay import naming
from hookrelay.aws import sqs as queues
from hookrelay.aws.sqs_event import SqsEvent, batch_response
from hookrelay.errors import DependencyUnavailable, HookrelayError, InvalidInput, NotFound
from hookrelay.models import DeliveryState
from hookrelay.provisioning.messages.model import ReplayRequest, ReplayStarted, ReplayState, Step
from hookrelay.provisioning.messages.replays import ReplayStore, new_replay_id
from hookrelay.provisioning.messages.store import MessageStore
from hookrelay.provisioning.publish import EventPublisher

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replayer:
    """What replay works with (the provisioner builds one from its context)."""

    store: MessageStore
    replays: ReplayStore
    publisher: EventPublisher
    clock: Callable[[], datetime]
    chunk_size: int = 100
    delay_seconds: int = 5

    @property
    def stage(self) -> str:
        return self.store.stage

    def queue_url(self) -> str:
        return queues.cached_queue_url(naming.replay_queue(self.stage), self.publisher.sqs)

    def send_step(self, step: Step, delay: int) -> None:
        body, sqs = step.model_dump_json(), self.publisher.sqs
        queues.send_message(self.queue_url(), body, delay_seconds=delay, sqs=sqs)


def start_replay(replayer: Replayer, partner_id: str, request: ReplayRequest) -> ReplayStarted:
    """Count, record and start a replay (202); a ``since`` in the future is a 400. An ``until`` in the
    future is taken as now: webhooks published while the replay runs are not part of it."""
    now = replayer.clock()
    if request.since > now:
        raise InvalidInput(f"since ({request.since.isoformat()}) is in the future")
    until = min(request.until, now)
    matched = replayer.store.count(partner_id, request.since, until, request.only_failed)
    done = matched == 0
    state = ReplayState(
        replay_id=new_replay_id(now),
        partner_id=partner_id,
        since=request.since,
        until=until,
        only_failed=request.only_failed,
        matched=matched,
        state="done" if done else "running",
        started_at=now,
        finished_at=now if done else None,
    )
    replayer.replays.create(state)
    if not done:
        replayer.send_step(Step(partner_id=partner_id, replay_id=state.replay_id, number=0), 0)
    logger.info(
        "replay started",
        extra={"partner_id": partner_id, "replay_id": state.replay_id, "matched": matched},
    )
    return ReplayStarted(replay_id=state.replay_id, matched=matched, state=state.state)


def run_step(replayer: Replayer, step: Step) -> int:
    """Carry out one step; how many webhooks it sent (0 when it had already run)."""
    state, chain = replayer.replays.chain(step.partner_id, step.replay_id)
    if chain.next_step > step.number:  # ran before; its next step may not have been sent
        if chain.next_cursor is not None and chain.next_step == step.number + 1 > chain.continued:
            _continue(replayer, step, chain.next_cursor)
        return 0
    if chain.next_step < step.number:
        logger.warning("replay step ahead of its replay dropped", extra={"replay_id": step.replay_id})
        return 0
    store = replayer.store
    ids, cursor = store.page(
        step.partner_id, state.since, state.until, state.only_failed, replayer.chunk_size, step.cursor
    )
    messages = [kept.message.with_delivery(DeliveryState()) for kept in store.load(step.partner_id, ids)]
    sent = replayer.publisher.send_all(step.partner_id, messages, again=step.replay_id) if messages else 0
    if sent < len(messages):
        raise DependencyUnavailable(f"SQS took {sent} of {len(messages)} webhooks of replay {step.replay_id}")
    recorded = replayer.replays.advance(
        step.partner_id, step.replay_id, step.number, sent, cursor, replayer.clock()
    )
    if recorded and cursor is not None:  # a twin that recorded the step first sends the next one
        _continue(replayer, step, cursor)
    logger.info(
        "replay step done",
        extra={"replay_id": step.replay_id, "step": step.number, "sent": sent, "last": cursor is None},
    )
    return sent


def _continue(replayer: Replayer, step: Step, cursor: dict[str, Any]) -> None:
    following = step.model_copy(update={"number": step.number + 1, "cursor": cursor})
    replayer.send_step(following, replayer.delay_seconds)
    replayer.replays.continued(step.partner_id, step.replay_id, following.number)


def work(event: dict[str, Any], replayer: Replayer) -> dict[str, list[dict[str, str]]]:
    """Handle a batch of replay steps: an unreadable one is dropped (logged), a failed one reported as a
    batch item failure, so SQS delivers it again alone (the mapping has ReportBatchItemFailures on)."""
    failed: list[str] = []
    for message in SqsEvent.model_validate(event).records:
        try:
            run_step(replayer, Step.model_validate_json(message.body))
        except (ValidationError, NotFound) as exc:  # unreadable, or its replay is gone: never runnable
            logger.error("replay step dropped", extra={"message_id": message.message_id, "error": str(exc)})
        except HookrelayError as exc:
            logger.error(
                "replay step failed; SQS retries it",
                extra={"message_id": message.message_id, "error": exc.message},
            )
            failed.append(message.message_id)
    return batch_response(failed)
