"""Replay (issue 14 item 6): counts, only_failed, bounded steps, progress, bad inputs, a killed worker."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog, record_attempts
from hookrelay.aws.clients import Clients
from hookrelay.errors import DependencyUnavailable
from hookrelay.models import AttemptRecord, DeliveryState, Outcome, WebhookMessage
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.message_ops import replayer
from hookrelay.provisioning.messages.model import ReplayRequest, Step
from hookrelay.provisioning.messages.replay import Replayer, run_step, start_replay
from tests.support.sqs import sqs_event

from .conftest import STAGE, URL, Failing, aws

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
JSON = {"Content-Type": "application/json"}


def call(http: Any, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, str) or body is None else json.dumps(body)
    response = getattr(http.http, method.lower())(path, headers=JSON, body=data)
    return response.status_code, json.loads(response.body)


@pytest.fixture
def kept(ctx: Provisioner, make_partner: Any) -> list[str]:
    """Partner acme with 5 webhooks kept between 12:00 and 12:40 and two outside that hour; no delay."""
    make_partner("acme")
    ctx.clock = lambda: NOW
    ctx.settings = ctx.settings.model_copy(update={"replay_delay_seconds": 0, "replay_chunk_size": 2})
    inside = [T0 + timedelta(minutes=10 * n) for n in range(5)]
    at = [T0 - timedelta(minutes=1), *inside, T0 + timedelta(hours=1)]
    messages = [
        WebhookMessage(id=f"msg_{n}", partner_id="acme", topic="paid", payload={"n": n}, created_at=t)
        for n, t in enumerate(at)
    ]
    ctx.messages.keep([m.with_delivery(DeliveryState(attempt=5)) for m in messages])
    return [m.id for m in messages[1:6]]


def partner_queue(partner_id: str = "acme") -> list[WebhookMessage]:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=naming.partner_queue(STAGE, partner_id))["QueueUrl"]
    found: list[WebhookMessage] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found += [WebhookMessage.model_validate_json(m["Body"]) for m in batch]
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    return found


def run_replay_worker(http: Any, max_invocations: int = 50) -> list[dict[str, Any]]:
    """Deliver each step on the replay queue to the app's ``replay_worker`` as Lambda's mapping would (a
    failed step becomes visible again); the answers, one per invocation."""
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=naming.replay_queue(STAGE))["QueueUrl"]
    answers: list[dict[str, Any]] = []
    while len(answers) < max_invocations:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
        if not messages:
            return answers
        (message,) = messages
        event = sqs_event([message["Body"]])
        event["Records"][0]["messageId"] = message["MessageId"]
        answer = http.lambda_.invoke("replay_worker", event).payload
        answers.append(answer)
        if answer["batchItemFailures"]:
            handle = message["ReceiptHandle"]
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
        else:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError(f"the replay queue was not empty after {max_invocations} invocations")


HOUR = {"since": "2026-11-30T12:00:00Z", "until": "2026-11-30T13:00:00Z"}


def test_a_replay_enqueues_every_webhook_of_its_range_again(http: Any, kept: list[str]) -> None:
    # GIVEN five webhooks kept in an hour (and two outside it)
    # WHEN that hour is replayed
    status, started = call(http, "POST", "/partners/acme/replay", HOUR)
    # THEN 202 with the replay id and the five matched, before anything is sent
    assert (status, started["matched"], started["state"]) == (202, 5, "running")
    assert partner_queue() == []
    # AND the worker sends them to the partner queue, same ids, each at a fresh attempt count, in 3 steps of 2
    assert len(run_replay_worker(http)) == 3
    queued = partner_queue()
    assert sorted(m.id for m in queued) == sorted(kept)
    assert {m.delivery.attempt for m in queued} == {0}
    # AND its progress says so
    status, progress = call(http, "GET", f"/partners/acme/replays/{started['replay_id']}")
    assert status == 200
    assert (progress["matched"], progress["enqueued"], progress["state"]) == (5, 5, "done")
    assert progress["finished_at"] is not None


def test_only_failed_replays_the_webhooks_no_attempt_delivered(
    http: Any, ctx: Provisioner, kept: list[str]
) -> None:
    # GIVEN two of the five webhooks delivered (recorded attempts), one of them after a failure
    attempts = [
        (kept[0], 1, Outcome.DELIVERED, 200),
        (kept[1], 1, Outcome.RETRY_SCHEDULED, 500),
        (kept[1], 2, Outcome.DELIVERED, 204),
        (kept[2], 1, Outcome.RETRY_SCHEDULED, 503),
    ]
    at = T0 + timedelta(hours=2)
    records = [
        AttemptRecord(webhook_id=w, partner_id="acme", attempt=n, url=URL, at=at, outcome=o, status_code=c)
        for w, n, o, c in attempts
    ]
    log = AttemptLog(STAGE, clients=ctx.clients)
    record_attempts(sqs_event([r.model_dump_json() for r in records]), log)
    # WHEN the hour is replayed with only_failed
    status, started = call(http, "POST", "/partners/acme/replay", {**HOUR, "only_failed": True})
    run_replay_worker(http)
    # THEN the three never delivered are matched and enqueued, and only they
    assert (status, started["matched"]) == (202, 3)
    assert sorted(m.id for m in partner_queue()) == sorted(kept[2:])
    assert call(http, "GET", f"/partners/acme/replays/{started['replay_id']}")[1]["enqueued"] == 3


def test_a_replay_matching_nothing_is_done_at_once(http: Any, kept: list[str]) -> None:
    # WHEN an hour with no webhook is replayed
    empty = {"since": "2026-11-29T00:00:00Z", "until": "2026-11-29T01:00:00Z"}
    status, started = call(http, "POST", "/partners/acme/replay", empty)
    # THEN it matched none, is done, and sends no step
    assert (status, started["matched"], started["state"]) == (202, 0, "done")
    assert run_replay_worker(http) == []


@dataclass(frozen=True)
class Recording(Replayer):
    """A replayer that keeps the steps it would send (and their delays) instead of sending them."""

    sent: list[tuple[Step, int]] = field(default_factory=list)

    def send_step(self, step: Step, delay: int) -> None:
        self.sent.append((step, delay))


def test_each_step_sends_at_most_a_chunk_and_delays_the_next(ctx: Provisioner, kept: list[str]) -> None:
    # GIVEN a replayer with chunks of 2 and 30 s between steps
    base = replayer(ctx)
    recording = Recording(**{**base.__dict__, "chunk_size": 2, "delay_seconds": 30})
    start_replay(recording, "acme", ReplayRequest.model_validate(HOUR))
    # WHEN each step is run in turn
    per_step: list[int] = []
    while recording.sent:
        step, delay = recording.sent.pop(0)
        # THEN the first step is sent at once, every later one 30 s after the one before
        assert delay == (0 if step.number == 0 else 30)
        per_step.append(run_step(recording, step))
    # AND no step sent more than 2, and all 5 arrived once
    assert per_step == [2, 2, 1]
    assert Counter(m.id for m in partner_queue()) == Counter(kept)


def test_a_worker_killed_before_recording_its_step_sends_the_same_webhooks_again(
    http: Any, ctx: Provisioner, kept: list[str]
) -> None:
    # GIVEN a replay whose first step's record fails once (the worker dies after sending its chunk)
    _, started = call(http, "POST", "/partners/acme/replay", HOUR)
    failing = Failing(aws("dynamodb"), "update_item", times=1)
    ctx.clients = Clients(overrides={**ctx.clients.overrides, "dynamodb": failing}, sleep=ctx.clients.sleep)
    # WHEN the worker runs until the queue is empty
    answers = run_replay_worker(http)
    # THEN the failed step was reported and run again (4 invocations for 3 steps)
    assert [len(a["batchItemFailures"]) for a in answers] == [1, 0, 0, 0]
    # AND every webhook reached the partner queue; the re-run step's two came twice with the same ids
    counts = Counter(m.id for m in partner_queue())
    assert set(counts) == set(kept)
    assert sorted(counts.values()) == [1, 1, 1, 2, 2]
    # AND the progress counts each webhook once
    progress = call(http, "GET", f"/partners/acme/replays/{started['replay_id']}")[1]
    assert (progress["enqueued"], progress["state"]) == (5, "done")


def test_a_step_redelivered_after_recording_sends_the_next_step_exactly_once(
    ctx: Provisioner, kept: list[str]
) -> None:
    # GIVEN a first step that recorded itself, then died before sending the next step
    @dataclass(frozen=True)
    class Dying(Recording):
        deaths: list[int] = field(default_factory=lambda: [1])  # steps whose sending kills the worker once

        def send_step(self, step: Step, delay: int) -> None:
            if step.number in self.deaths:
                self.deaths.remove(step.number)
                raise DependencyUnavailable("killed")
            super().send_step(step, delay)

    base = replayer(ctx)
    dying = Dying(**{**base.__dict__, "chunk_size": 2})
    started = start_replay(dying, "acme", ReplayRequest.model_validate(HOUR))
    first = dying.sent.pop(0)[0]
    with pytest.raises(DependencyUnavailable):
        run_step(dying, first)
    assert dying.sent == []
    # WHEN SQS delivers the first step again, twice
    assert run_step(dying, first) == 0
    assert run_step(dying, first) == 0
    # THEN the next step was sent once, and its chunk was not sent twice
    assert [s.number for s, _ in dying.sent] == [1]
    assert Counter(m.id for m in partner_queue()) == Counter(kept[:2])
    assert dying.replays.state("acme", started.replay_id).enqueued == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"since": "2026-11-20T00:00:00Z", "until": "2026-11-28T00:00:01Z"}, "at most 7 days"),
        ({"since": "2026-11-30T13:00:00Z", "until": "2026-11-30T12:00:00Z"}, "until must be after since"),
        ({"since": "2026-11-30T12:00:00Z", "until": "2026-11-30T12:00:00Z"}, "until must be after since"),
        ({"since": "2026-12-01T12:00:01Z", "until": "2026-12-01T13:00:00Z"}, "in the future"),
        ({"since": "yesterday", "until": "2026-11-30T13:00:00Z"}, "since"),
        ({"since": "2026-11-30T12:00:00Z"}, "until"),
        ({**HOUR, "only_failed": "maybe"}, "only_failed"),
        ({**HOUR, "partner": "x"}, "partner"),
        ("[1]", "JSON object"),
        ("{", "malformed JSON"),
    ],
)
def test_each_bad_replay_request_is_a_400_with_a_message(
    http: Any, kept: list[str], body: Any, message: str
) -> None:
    # WHEN a replay is asked with a bad body, THEN 400 invalid_input saying what is wrong, and no step is sent
    status, answer = call(http, "POST", "/partners/acme/replay", body)
    assert (status, answer["error"]) == (400, "invalid_input")
    assert message in answer["message"]
    assert run_replay_worker(http) == []


def test_replay_of_an_unknown_partner_and_unknown_or_malformed_replay_ids(http: Any, kept: list[str]) -> None:
    # WHEN a replay is asked for a partner that does not exist, or an unknown or malformed replay is read
    unknown_partner = call(http, "POST", "/partners/nobody/replay", HOUR)
    unknown_replay = call(http, "GET", "/partners/acme/replays/rp_20261130120000abcdefgh")
    malformed = call(http, "GET", "/partners/acme/replays/nope")
    # THEN 404, 404 and 400, each a JSON error with a message
    assert [(s, b["error"]) for s, b in (unknown_partner, unknown_replay, malformed)] == [
        (404, "not_found"), (404, "not_found"), (400, "invalid_input"),
    ]  # fmt: skip
    assert all(b["message"] for _, b in (unknown_partner, unknown_replay, malformed))


def test_a_replay_of_another_partner_is_not_found(http: Any, make_partner: Any, kept: list[str]) -> None:
    # GIVEN a replay of acme, WHEN it is read as another partner's, THEN 404
    make_partner("globex")
    _, started = call(http, "POST", "/partners/acme/replay", HOUR)
    status, _ = call(http, "GET", f"/partners/globex/replays/{started['replay_id']}")
    assert status == 404
