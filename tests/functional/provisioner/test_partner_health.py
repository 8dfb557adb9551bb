"""Partner health on moto (issue 16 items 1, 2): the results recorder counts each partner's attempts on its
item, pauses a partner past both thresholds (or at a 410), keeps its messages, tells the alarm topic, and
``POST /partners/{id}/enable`` resumes it."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog, record_attempts
from hookrelay.errors import DependencyUnavailable
from hookrelay.health_notice import HealthNotice, NoticeKind
from hookrelay.models import AttemptRecord, ErrorKind, Outcome
from hookrelay.partners.health_store import HealthStore
from hookrelay.partners.model import PartnerStatus
from hookrelay.partners.update import PartnerUpdate
from hookrelay.provisioning.changes import update_partner
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.health import watch as watch_module
from hookrelay.provisioning.health.watch import HealthWatch
from hookrelay.provisioning.publish import PublishRequest
from tests.support.sqs import sqs_event

from .conftest import STAGE, URL, aws, writes
from .test_api import call
from .test_changes import mapping, queued

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(ctx: Provisioner) -> Clock:
    ticking = Clock()
    ctx.clock = ticking
    return ticking


@pytest.fixture
def notices(ctx: Provisioner) -> Callable[[], list[HealthNotice]]:
    """What reached the stage's alarm topic (an SQS queue subscribed to it), as health notices."""
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name=naming.alarm_topic(STAGE))["TopicArn"]
    url = sqs.create_queue(QueueName="alarm-topic-spy")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    seen: list[HealthNotice] = []

    def read() -> list[HealthNotice]:
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return list(seen)
            for message in got:
                seen.append(HealthNotice.model_validate_json(json.loads(message["Body"])["Message"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return read


def attempt(
    n: int, outcome: Outcome = Outcome.RETRY_SCHEDULED, partner_id: str = "acme", **fields: Any
) -> str:
    defaults: dict[str, Any] = {
        "status_code": 503,
        "error_kind": ErrorKind.HTTP_STATUS,
        "topic": "invoice.paid",
    }
    if outcome is Outcome.DELIVERED:
        defaults = {"status_code": 200}
    record = AttemptRecord(
        webhook_id=f"msg_{n}", partner_id=partner_id, attempt=1, url=URL,
        at=T0 + timedelta(seconds=n), outcome=outcome, **{**defaults, **fields},
    )  # fmt: skip
    return record.model_dump_json()


def recorded(ctx: Provisioner, bodies: list[str]) -> dict[str, Any]:
    """A results batch through the recorder and its health step, as the provisioner app wires them."""
    return record_attempts(
        sqs_event(bodies), AttemptLog(STAGE, clients=ctx.clients), HealthWatch(ctx).observe
    )


def failures(ctx: Provisioner, n: int, start: int = 0) -> None:
    for first in range(start, start + n, 10):
        recorded(ctx, [attempt(i) for i in range(first, min(first + 10, start + n))])


def test_both_thresholds_are_needed_then_the_partner_is_paused_and_told(
    ctx: Provisioner, make_partner: Any, clock: Clock, notices: Callable[[], list[HealthNotice]]
) -> None:
    # GIVEN a partner that pauses after 20 failures in a row and 2 h without a success, last success at T0
    make_partner("acme", pause_after_failures=20, pause_after_hours=2)
    recorded(ctx, [attempt(0, Outcome.DELIVERED)])
    # WHEN 30 attempts fail within the first hour
    clock.now = T0 + timedelta(hours=1)
    failures(ctx, 30, start=1)
    # THEN it is told it is failing (once, at the 10th) but not paused: 2 h have not passed
    assert ctx.partners.get("acme").status is PartnerStatus.ACTIVE
    assert [n.kind for n in notices()] == [NoticeKind.FAILING]
    assert mapping("acme")["State"] == "Enabled"
    # WHEN one more fails 2 h after the last success
    clock.now = T0 + timedelta(hours=2)
    recorded(ctx, [attempt(31, topic="transfer.created")])
    # THEN it is paused: mapping disabled, status paused with the reason, time, count and last error
    partner = ctx.partners.get("acme")
    assert partner.status is PartnerStatus.PAUSED
    assert mapping("acme")["State"] == "Disabled"
    assert partner.pause is not None
    assert (partner.pause.reason, partner.pause.paused_at, partner.pause.consecutive_failures) == (
        "failing",
        clock.now,
        31,
    )
    assert partner.pause.last_error == "HTTP 503: http_status"
    assert partner.pause.last_topic == "transfer.created"
    # AND the alarm topic got one paused notice with the topic, the error and the command to resume
    (paused,) = notices()[1:]
    assert (paused.kind, paused.partner_id, paused.reason) == (NoticeKind.PAUSED, "acme", "failing")
    assert (paused.last_topic, paused.last_error, paused.consecutive_failures) == (
        "transfer.created",
        "HTTP 503: http_status",
        31,
    )
    assert paused.resume_command is not None
    assert "POST /partners/acme/enable" in paused.resume_command
    # AND more failures of attempts already in flight neither count towards a second pause nor tell again
    recorded(ctx, [attempt(40)])
    assert notices()[2:] == []


def test_many_failures_without_the_hours_do_not_pause(
    ctx: Provisioner, make_partner: Any, clock: Clock
) -> None:
    # GIVEN the stage's thresholds (400 failures and 24 h), WHEN 450 attempts fail within an hour
    make_partner("acme")
    clock.now = T0 + timedelta(hours=1)
    failures(ctx, 450)
    # THEN it is still active, with 450 failures counted
    assert ctx.partners.get("acme").status is PartnerStatus.ACTIVE
    assert HealthStore(ctx.partners.table, ctx.clients).read("acme").consecutive_failures == 450


def test_a_410_pauses_at_once_unless_gone_pauses_is_off(
    ctx: Provisioner, make_partner: Any, clock: Clock, notices: Callable[[], list[HealthNotice]]
) -> None:
    # GIVEN two partners, one of which keeps going on a 410
    make_partner("acme")
    make_partner("globex", gone_pauses=False)
    # WHEN each endpoint answers 410 Gone once
    gone = {"outcome": Outcome.GONE, "status_code": 410}
    recorded(ctx, [attempt(1, **gone), attempt(2, partner_id="globex", **gone)])
    # THEN acme is paused for it (and marked gone), globex only marked gone
    acme, globex = ctx.partners.get("acme"), ctx.partners.get("globex")
    assert (acme.status, acme.pause.reason if acme.pause else None) == (PartnerStatus.PAUSED, "gone")
    assert acme.gone_at == T0 + timedelta(seconds=1)
    assert (globex.status, globex.gone_at) == (PartnerStatus.ACTIVE, T0 + timedelta(seconds=2))
    assert [(n.kind, n.partner_id, n.reason) for n in notices()] == [(NoticeKind.PAUSED, "acme", "gone")]


def test_no_message_is_lost_while_paused_and_enable_resumes(
    ctx: Provisioner,
    make_partner: Any,
    clock: Clock,
    notices: Callable[[], list[HealthNotice]],
    http: Any,
) -> None:
    # GIVEN a partner with five webhooks queued, paused by its health
    make_partner("acme", pause_after_failures=3, pause_after_hours=0)
    for n in range(5):
        ctx.publisher.publish("acme", PublishRequest(topic="invoice.paid", payload={"n": n}))
    failures(ctx, 3)
    # THEN GET shows it paused, why, when, the last error and its counters; its five messages are queued
    status, state = call(http, "GET", "/partners/acme")
    assert (status, state["partner"]["status"], state["mapping_state"]) == (200, "paused", "Disabled")
    assert state["partner"]["pause"]["reason"] == "failing"
    assert state["partner"]["pause"]["paused_at"].startswith("2026-12-01T09:00:00")
    assert state["partner"]["pause"]["last_error"] == "HTTP 503: http_status"
    assert state["health"]["consecutive_failures"] == 3
    assert (state["health"]["pause_after_failures"], state["health"]["pause_after_hours"]) == (3, 0.0)
    assert queued("acme") == 5
    # WHEN it is enabled
    clock.now = T0 + timedelta(minutes=5)
    status, enabled = call(http, "POST", "/partners/acme/enable")
    # THEN it is active again from a fresh streak, the pause cleared and when it resumed kept
    assert (status, enabled["status"], enabled["pause"]) == (200, "active", None)
    assert enabled["resumed_at"].startswith("2026-12-01T09:05:00")
    assert mapping("acme")["State"] == "Enabled"
    assert queued("acme") == 5
    assert call(http, "GET", "/partners/acme")[1]["health"]["consecutive_failures"] == 0
    # AND its first success after the pause is told as a recovery
    recorded(ctx, [attempt(10, Outcome.DELIVERED)])
    assert [n.kind for n in notices()] == [NoticeKind.PAUSED, NoticeKind.RECOVERED]


def test_failing_notices_are_rate_limited_per_partner(
    ctx: Provisioner, make_partner: Any, clock: Clock, notices: Callable[[], list[HealthNotice]]
) -> None:
    # GIVEN a flapping partner: 10 failures (told), a success (recovered), 10 failures again
    make_partner("acme")
    failures(ctx, 10)
    recorded(ctx, [attempt(20, Outcome.DELIVERED)])
    clock.now = T0 + timedelta(minutes=30)
    failures(ctx, 10, start=30)
    # THEN the second streak is not told within the hour
    assert [n.kind for n in notices()] == [NoticeKind.FAILING, NoticeKind.RECOVERED]
    # WHEN it keeps failing past the hour, THEN it is told again, once
    clock.now = T0 + timedelta(minutes=61)
    failures(ctx, 20, start=40)
    assert [n.kind for n in notices()][2:] == [NoticeKind.FAILING]


class Serialised:
    """A DynamoDB client whose calls go through one lock (moto's DynamoDB is not atomic under threads),
    recording every call: the interleaving of two recorders is kept, only each call is made whole."""

    def __init__(self, real: Any) -> None:
        self.real, self.lock, self.calls = real, threading.Lock(), list[tuple[str, str]]()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)

        def call(**kwargs: Any) -> Any:
            with self.lock:
                self.calls.append((name, kwargs.get("TableName", "")))
                return method(**kwargs)

        return call


def test_two_recorders_counting_at_once_lose_no_failure(
    ctx: Provisioner, make_partner: Any, clock: Clock
) -> None:
    # GIVEN a partner, and two recorder instances sharing the table
    make_partner("acme")
    ctx.clients.overrides["dynamodb"] = Serialised(aws("dynamodb"))
    barrier = threading.Barrier(2)

    def recorder(offset: int) -> None:
        barrier.wait()
        for batch in range(30):
            recorded(ctx, [attempt(offset + batch * 4 + i) for i in range(4)])

    # WHEN each records 30 batches of 4 failures at the same time
    threads = [threading.Thread(target=recorder, args=(k * 1000,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN the count is exact: 240
    assert HealthStore(ctx.partners.table, ctx.clients).read("acme").consecutive_failures == 240


def test_one_update_per_partner_per_batch_and_no_read(
    ctx: Provisioner, make_partner: Any, clock: Clock
) -> None:
    # GIVEN three partners whose attempts share one results batch
    for pid in ("acme", "globex", "initech"):
        make_partner(pid)
    spy = Serialised(aws("dynamodb"))
    ctx.clients.overrides["dynamodb"] = spy
    bodies = [attempt(i, partner_id=pid) for pid in ("acme", "globex") for i in range(4)]
    bodies += [attempt(9, Outcome.DELIVERED, partner_id="initech")]
    # WHEN the batch is recorded
    recorded(ctx, bodies)
    # THEN the partners table got exactly one UpdateItem per partner, and was never read
    partners = [name for name, table in spy.calls if table == naming.partners_table(STAGE)]
    assert partners == ["update_item"] * 3
    counts = {pid: HealthStore(ctx.partners.table, ctx.clients).read(pid) for pid in ("acme", "initech")}
    assert counts["acme"].consecutive_failures == 4
    assert counts["initech"].last_success_at == T0 + timedelta(seconds=9)


def test_counting_never_brings_back_a_deleted_partner(ctx: Provisioner, clock: Clock) -> None:
    # GIVEN no partner "ghost", WHEN its attempts are recorded, THEN no item appears in the partners table
    assert recorded(ctx, [attempt(1, partner_id="ghost")]) == {"batchItemFailures": []}
    item = aws("dynamodb").get_item(
        TableName=naming.partners_table(STAGE), Key={"partner_id": {"S": "ghost"}}
    )
    assert "Item" not in item


def test_health_thresholds_over_the_api(http: Any) -> None:
    # GIVEN a partner created with its own thresholds
    body = {"partner_id": "acme", "url": URL, "pause_after_failures": 50, "pause_after_hours": 1}
    status, created = call(http, "POST", "/partners", body)
    assert (status, created["pause_after_failures"], created["pause_after_hours"]) == (201, 50, 1.0)
    assert created["gone_pauses"] is None  # the stage's
    # WHEN one is set back to the stage's (null) and gone_pauses turned off
    status, patched = call(
        http, "PATCH", "/partners/acme", {"pause_after_failures": None, "gone_pauses": False}
    )
    # THEN the partner holds that, and GET shows the thresholds in effect
    assert (status, patched["pause_after_failures"], patched["gone_pauses"]) == (200, None, False)
    health = call(http, "GET", "/partners/acme")[1]["health"]
    assert (health["pause_after_failures"], health["pause_after_hours"], health["gone_pauses"]) == (
        400,
        1.0,
        False,
    )
    # AND a threshold out of range is a 400 naming it
    status, answer = call(http, "PATCH", "/partners/acme", {"pause_after_failures": 0})
    assert status == 400
    assert "pause_after_failures" in json.dumps(answer)


@pytest.fixture(autouse=True)
def _no_leftover_overrides(ctx: Provisioner) -> Iterator[None]:
    yield
    ctx.clients.overrides["dynamodb"] = aws("dynamodb")


def test_changing_only_health_thresholds_touches_no_aws_resource(
    ctx: Provisioner, make_partner: Any, aws_calls: list[str]
) -> None:
    # GIVEN a partner, WHEN only its health thresholds change
    make_partner("acme")
    aws_calls.clear()
    updated = update_partner(ctx, "acme", PartnerUpdate(pause_after_failures=7, gone_pauses=False))
    # THEN the partner holds them, and the only writes are to the partners table (lease and document)
    assert (updated.pause_after_failures, updated.gone_pauses) == (7, False)
    assert ctx.partners.get("acme").pause_after_failures == 7
    assert {call.split(":")[0] for call in writes(aws_calls)} == {"dynamodb"}


def test_the_openapi_document_knows_paused_partners(http: Any) -> None:
    # GIVEN the provisioner's OpenAPI document, THEN it has the paused status, the pause, and the health view
    status, document = call(http, "GET", "/openapi.json")
    schemas = document["components"]["schemas"]
    assert status == 200
    assert "paused" in schemas["PartnerStatus"]["enum"]
    assert {"pause", "resumed_at", "pause_after_failures", "gone_pauses"} <= set(
        schemas["Partner"]["properties"]
    )
    assert "health" in schemas["PartnerState"]["properties"]
    assert {"pause_after_failures", "pause_after_hours", "gone_pauses"} <= set(
        schemas["PartnerUpdate"]["properties"]
    )


def test_the_provisioner_apps_recorder_runs_the_health_step(
    ctx: Provisioner, make_partner: Any, app_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the provisioner app's results recorder on this stage, and a partner that pauses at a 410
    make_partner("acme")
    monkeypatch.setattr(app_module, "attempt_log", lambda: AttemptLog(STAGE, clients=ctx.clients))
    monkeypatch.setattr(app_module, "provisioner", lambda: ctx)
    # WHEN a results batch holding a 410 reaches record_results
    with Client(app_module.app) as client:
        event = sqs_event([attempt(1, Outcome.GONE, status_code=410)])
        response = client.lambda_.invoke("record_results", event)
    # THEN the batch succeeded and the partner is paused
    assert response.payload == {"batchItemFailures": []}
    assert ctx.partners.get("acme").status is PartnerStatus.PAUSED


def test_a_batch_with_failures_after_its_success_starts_a_new_streak(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a partner with a told streak of 12 failures
    make_partner("acme")
    failures(ctx, 12)
    store = HealthStore(ctx.partners.table, ctx.clients)
    assert store.read("acme").told_at is not None
    # WHEN a batch holds a success at +20 s, then two failures (+21 s without a topic, +22 s with one)
    recorded(
        ctx,
        [
            attempt(22, topic="refund.created", status_code=500),
            attempt(20, Outcome.DELIVERED),
            attempt(21, topic=None, status_code=None, error_kind=ErrorKind.TIMEOUT, error="read timed out"),
        ],
    )
    # THEN the streak is the two failures after the success, from +21 s; the told flag went with the old one
    state = store.read("acme")
    assert (state.consecutive_failures, state.failing_since, state.last_success_at) == (
        2,
        T0 + timedelta(seconds=21),
        T0 + timedelta(seconds=20),
    )
    assert (state.last_topic, state.last_status_code, state.last_error) == (
        "refund.created",
        500,
        "HTTP 500: http_status",
    )
    assert state.told_at is None
    # AND a later failure without a topic or status clears those, keeps its error
    recorded(
        ctx, [attempt(30, topic=None, status_code=None, error_kind=ErrorKind.TIMEOUT, error="read timed out")]
    )
    state = store.read("acme")
    assert (state.consecutive_failures, state.last_topic, state.last_status_code) == (3, None, None)
    assert state.last_error == "timeout: read timed out"


def test_a_failing_notice_sns_refused_is_claimed_again_by_the_next_batch(
    ctx: Provisioner, make_partner: Any, clock: Clock, notices: Callable[[], list[HealthNotice]],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # GIVEN a partner failing 10 times in a row while SNS refuses every publish
    make_partner("acme")
    real = watch_module.publish_notice

    def refused(*_: Any) -> None:
        raise DependencyUnavailable("SNS is down")

    monkeypatch.setattr(watch_module, "publish_notice", refused)
    with caplog.at_level(logging.ERROR):
        failures(ctx, 10)
    # THEN nobody was told, and the log says the health step failed
    assert notices() == []
    assert any(r.getMessage() == "partner health not counted" for r in caplog.records)
    # WHEN SNS is back and the streak goes on, THEN its failing notice goes out (the claim was given back)
    monkeypatch.setattr(watch_module, "publish_notice", real)
    failures(ctx, 1, start=10)
    assert [n.kind for n in notices()] == [NoticeKind.FAILING]


def test_a_pause_whose_notice_is_refused_stands_and_is_logged(
    ctx: Provisioner, make_partner: Any, clock: Clock, notices: Callable[[], list[HealthNotice]],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # GIVEN a partner answering 410 while SNS refuses every publish
    make_partner("acme")

    def refused(*_: Any) -> None:
        raise DependencyUnavailable("SNS is down")

    monkeypatch.setattr(watch_module, "publish_notice", refused)
    # WHEN its 410 is recorded
    with caplog.at_level(logging.ERROR):
        recorded(ctx, [attempt(1, Outcome.GONE, status_code=410)])
    # THEN it is paused all the same, and the log says the pause was not announced
    assert ctx.partners.get("acme").status is PartnerStatus.PAUSED
    assert [r.partner_id for r in caplog.records if r.getMessage() == "partner paused but not announced"] == [
        "acme"
    ]


def test_a_results_batch_delivered_twice_is_counted_once(
    ctx: Provisioner, make_partner: Any, clock: Clock
) -> None:
    # GIVEN a partner, and a results batch of 4 failures already recorded
    make_partner("acme")
    bodies = [attempt(i) for i in range(4)]
    recorded(ctx, bodies)
    # WHEN SQS delivers the same batch again (a recorder timed out after writing it), then a new one
    recorded(ctx, bodies)
    recorded(ctx, [attempt(i) for i in range(4, 6)])
    # THEN each attempt counts once: 6 failures in a row, not 10
    assert HealthStore(ctx.partners.table, ctx.clients).read("acme").consecutive_failures == 6
