"""Idempotent publish and batch publish (issue 14 items 2, 3), and every bad input a 4xx with a message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookrelay.aws.clients import Clients
from hookrelay.errors import DependencyUnavailable
from hookrelay.provisioning.api import Api
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.events.feed import EventFeed
from hookrelay.provisioning.events.model import BatchRequest, EventAccepted, EventRequest
from hookrelay.provisioning.events.once import Once, event_key
from hookrelay.provisioning.events.settings import events_settings
from hookrelay.provisioning.resources.shared import ensure_shared

from .conftest import Failing, aws
from .events_support import partner_messages, queued_events, receive_events
from .test_api import call

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_an_event_id_published_twice_is_enqueued_once_and_answered_200_duplicate(
    http: Any, ctx: Provisioner
) -> None:
    # GIVEN an event published with an id
    event = {"topic": "invoice.paid", "payload": {"n": 1}, "id": "evt_dup"}
    assert call(http, "POST", "/events", event) == (
        202, {"event_id": "evt_dup", "topic": "invoice.paid", "duplicate": False},
    )  # fmt: skip
    # WHEN it is published again (even with another payload)
    status, answer = call(http, "POST", "/events", {**event, "payload": {"n": 2}})
    # THEN 200 with the original's event id, marked duplicate, and the events queue holds it once
    assert (status, answer) == (200, {"event_id": "evt_dup", "topic": "invoice.paid", "duplicate": True})
    assert [json.loads(r["body"])["payload"] for r in receive_events(ctx)["Records"]] == [{"n": 1}]


def test_events_without_an_id_get_fresh_ids_and_are_never_duplicates(http: Any, ctx: Provisioner) -> None:
    # WHEN the same event is published twice without an id
    first = call(http, "POST", "/events", {"topic": "invoice.paid", "payload": {}})
    second = call(http, "POST", "/events", {"topic": "invoice.paid", "payload": {}})
    # THEN both are accepted with distinct generated ids, and both are enqueued
    assert (first[0], second[0]) == (202, 202)
    assert first[1]["event_id"].startswith("msg_")
    assert first[1]["event_id"] != second[1]["event_id"]
    assert queued_events(ctx) == 2


def test_a_partner_publish_with_a_seen_id_is_answered_200_duplicate(
    http: Any, make_partner: Any, ctx: Provisioner
) -> None:
    # GIVEN a partner and an event published to it with an id
    make_partner("acme")
    event = {"topic": "invoice.paid", "payload": {"n": 1}, "id": "order-7"}
    status, first = call(http, "POST", "/partners/acme/events", event)
    assert (status, first["webhook_id"], first["duplicate"]) == (202, "order-7", False)
    # WHEN it is published again
    status, again = call(http, "POST", "/partners/acme/events", event)
    # THEN 200 with the original's answer (its webhook and SQS message ids), duplicate; the queue holds one
    assert (status, again) == (200, {**first, "duplicate": True})
    assert [m["id"] for m in partner_messages(ctx, "acme")] == ["order-7"]
    # AND the same id to another partner, or on POST /events, is a different event
    make_partner("globex")
    assert call(http, "POST", "/partners/globex/events", event)[0] == 202
    assert call(http, "POST", "/events", event)[0] == 202


def test_a_refused_partner_publish_does_not_use_up_its_id(http: Any, make_partner: Any) -> None:
    # GIVEN a partner that accepts only customer.created
    make_partner("acme", event_types=["customer.created"])
    # WHEN an invoice.paid event is refused (422), THEN the same id with an accepted topic is published
    assert (
        call(http, "POST", "/partners/acme/events", {"topic": "invoice.paid", "payload": {}, "id": "k1"})[0]
        == 422
    )
    status, answer = call(
        http, "POST", "/partners/acme/events", {"topic": "customer.created", "payload": {}, "id": "k1"}
    )
    assert (status, answer["duplicate"]) == (202, False)


def test_an_id_is_new_again_after_the_window_even_before_ttl_deletes_it(ctx: Provisioner) -> None:
    # GIVEN an id published at T0 with a 24 h window
    clock = Clock(T0)
    once = Once.of_stage(ctx.stage, ctx.clients, timedelta(hours=24))
    once.clock = clock
    feed = EventFeed(ctx.stage, ctx.clients, once=once)
    assert not feed.publish(EventRequest(topic="a.b", payload={}, id="evt_ttl")).duplicate
    # WHEN it is published 23 h later, THEN it is a duplicate
    clock.now = T0 + timedelta(hours=23)
    assert feed.publish(EventRequest(topic="a.b", payload={}, id="evt_ttl")).duplicate
    # AND 25 h later (the item still there: DynamoDB's TTL deletes late) it is a new event, enqueued again
    clock.now = T0 + timedelta(hours=25)
    assert not feed.publish(EventRequest(topic="a.b", payload={}, id="evt_ttl")).duplicate
    assert queued_events(ctx) == 2


def test_the_window_is_configurable(ctx: Provisioner, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN HOOKRELAY_EVENTS_DEDUP_HOURS=2
    monkeypatch.setenv("HOOKRELAY_EVENTS_DEDUP_HOURS", "2")
    events_settings.cache_clear()
    try:
        feed = EventFeed(ctx.stage, ctx.clients)
    finally:
        events_settings.cache_clear()
    # THEN the feed's claims last two hours
    assert feed.ledger.window == timedelta(hours=2)


def test_a_claim_left_pending_is_taken_over_so_a_retry_is_never_refused(ctx: Provisioner) -> None:
    # GIVEN a publish that claimed an id and then failed before enqueueing, its clean-up failing too
    once = Once.of_stage(ctx.stage, ctx.clients)
    assert once.claim(event_key("evt_dead")) is None
    # WHEN the producer retries, THEN the id is claimed again at once: the event is published, not refused
    assert once.claim(event_key("evt_dead")) is None
    # AND once it is marked sent, a further publish is a duplicate with the sent answer
    once.done(event_key("evt_dead"), {"event_id": "evt_dead", "topic": "a.b"})
    assert once.claim(event_key("evt_dead")) == {"event_id": "evt_dead", "topic": "a.b"}


def test_a_retry_after_a_failed_enqueue_and_a_failed_release_is_published(ctx: Provisioner) -> None:
    # GIVEN DynamoDB refusing the release and SQS refusing the send, once each
    dynamodb = Failing(aws("dynamodb"), "delete_item", times=1)
    sqs = Failing(aws("sqs"), "send_message_batch", times=1)
    feed = EventFeed(ctx.stage, Clients(overrides={"sqs": sqs, "dynamodb": dynamodb}))
    event = EventRequest(topic="a.b", payload={}, id="evt_retry")
    # WHEN the event is published: 503, its claim left pending
    with pytest.raises(DependencyUnavailable):
        feed.publish(event)
    # THEN the producer's retry is accepted (not a duplicate, not refused), and the queue holds it once
    assert feed.publish(event) == EventAccepted(event_id="evt_retry", topic="a.b", duplicate=False)
    assert queued_events(ctx) == 1


def test_a_failed_enqueue_is_503_and_releases_the_id(http: Any, ctx: Provisioner) -> None:
    # GIVEN the events queue refusing sends once
    flaky = Failing(aws("sqs"), "send_message_batch", times=1)
    feed = EventFeed(ctx.stage, Clients(overrides={"sqs": flaky, "dynamodb": aws("dynamodb")}))
    batch = {"events": [{"topic": "a.b", "payload": {}, "id": "evt_503"}]}
    # WHEN an event is published, THEN it is answered 503 (retry) ...
    answer = feed.publish_batch(BatchRequest.model_validate(batch))
    assert [(r.status, r.error) for r in answer.results] == [(503, "dependency_unavailable")]
    # ... AND the retry is accepted as new, not a duplicate of what never got enqueued
    assert call(http, "POST", "/events", batch["events"][0])[0] == 202
    assert queued_events(ctx) == 1


def test_a_batch_answers_each_event_and_one_bad_event_rejects_no_other(http: Any, ctx: Provisioner) -> None:
    # GIVEN an id published before, and a batch mixing good, duplicate, repeated and bad events
    call(http, "POST", "/events", {"topic": "a.b", "payload": {}, "id": "old"})
    events = [
        {"topic": "invoice.paid", "payload": {"n": 1}, "id": "b1"},
        {"topic": "invoice.paid", "payload": {"n": 2}, "id": "old"},
        {"topic": "invoice paid", "payload": {}},
        {"topic": "invoice.paid", "payload": {}, "extra": 1},
        "not an object",
        {"topic": "invoice.paid", "payload": {"big": "x" * 300_000}},
        {"topic": "invoice.paid", "payload": {"n": 3}, "id": "b1"},
        {"topic": "customer.created", "payload": {}},
    ]
    # WHEN it is published
    status, answer = call(http, "POST", "/events/batch", {"events": events})
    # THEN 200 with one answer per event, in order
    assert status == 200
    assert [
        (r["index"], r["status"], r["event_id"], r["duplicate"], r["error"]) for r in answer["results"]
    ] == [
        (0, 202, "b1", False, None),
        (1, 200, "old", True, None),
        (2, 400, None, False, "invalid_input"),
        (3, 400, None, False, "invalid_input"),
        (4, 400, None, False, "invalid_input"),
        (5, 413, None, False, "payload_too_large"),
        (6, 200, "b1", True, None),
        (7, 202, answer["results"][7]["event_id"], False, None),
    ]
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (2, 2, 4)
    # AND each rejection says why
    messages = [r["message"] for r in answer["results"] if r["error"]]
    assert "topic" in messages[0]
    assert "extra" in messages[1]
    assert "JSON object" in messages[2]
    assert "limit is" in messages[3]
    # AND the events queue holds the two accepted ones plus the earlier one
    assert queued_events(ctx) == 3


@pytest.mark.parametrize(
    ("path", "body", "status", "error", "says"),
    [
        ("/events", "{not json", 400, "invalid_input", "malformed JSON"),
        ("/events", "[1, 2]", 400, "invalid_input", "JSON object"),
        ("/events", {"topic": "a.b", "payload": {}, "colour": "red"}, 400, "invalid_input", "colour"),
        ("/events", {"topic": "a.b"}, 400, "invalid_input", "payload"),
        ("/events", {"topic": "a b", "payload": {}}, 400, "invalid_input", "topic"),
        ("/events", {"topic": "invoice.*", "payload": {}}, 400, "invalid_input", "topic"),
        ("/events", {"topic": "a.b", "payload": [1]}, 400, "invalid_input", "payload"),
        ("/events", {"topic": "a.b", "payload": {}, "id": "has space"}, 400, "invalid_input", "id"),
        ("/events", {"topic": "a.b", "payload": {"x": "y" * 262_000}}, 413, "payload_too_large", "limit"),
        ("/events", "", 400, "invalid_input", "topic"),
        ("/events/batch", {"events": []}, 400, "invalid_input", "events"),
        ("/events/batch", {"events": [{"topic": "a.b", "payload": {}}] * 101}, 400, "invalid_input", "100"),
        ("/events/batch", {"events": "x"}, 400, "invalid_input", "events"),
        ("/events/batch", {"evnts": []}, 400, "invalid_input", "events: Field required"),
        ("/events/batch", "{", 400, "invalid_input", "malformed JSON"),
    ],
)
def test_every_bad_input_is_a_4xx_with_a_message(
    http: Any, ctx: Provisioner, path: str, body: Any, status: int, error: str, says: str
) -> None:
    # WHEN a bad request is sent, THEN its 4xx names the problem, and nothing is enqueued
    got_status, answer = call(http, "POST", path, body)
    assert (got_status, answer["error"]) == (status, error), answer
    assert says in answer["message"]
    assert queued_events(ctx) == 0


def test_the_operations_are_lambda_functions_too(ctx: Provisioner) -> None:
    # GIVEN the provisioner's API as its per-operation Lambda functions see it
    api = Api(ctx)
    # WHEN publish_event and publish_events are invoked, THEN they answer as the routes do
    assert api.invoke("publish_event", {"topic": "a.b", "payload": {}, "id": "evt_l"}) == {
        "event_id": "evt_l", "topic": "a.b", "duplicate": False,
    }  # fmt: skip
    again = api.invoke("publish_event", {"topic": "a.b", "payload": {}, "id": "evt_l"})
    assert again["duplicate"] is True
    batch = api.invoke("publish_events", {"events": [{"topic": "a.b", "payload": {}}]})
    assert (batch["accepted"], batch["results"][0]["status"]) == (1, 202)
    bad = api.invoke("publish_event", {"topic": "a.b"})
    assert (bad["status"], bad["error"]) == (400, "invalid_input")


def test_the_shared_resources_hold_the_events_feed(ctx: Provisioner) -> None:
    # GIVEN the shared resources ensured (ctx did), THEN the events queue redrives to its DLQ after 5
    # receives, with a visibility six times the router's 60 s timeout, and the DLQ is watched by an alarm
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName="hookrelay-test-events")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert (redrive["maxReceiveCount"], redrive["deadLetterTargetArn"].rsplit(":", 1)[1]) == (
        5, "hookrelay-test-events-dlq",
    )  # fmt: skip
    assert attributes["VisibilityTimeout"] == "360"
    alarms = aws("cloudwatch").describe_alarms(AlarmNames=["hookrelay-test-events-dlq-depth"])["MetricAlarms"]
    assert [a["AlarmName"] for a in alarms] == ["hookrelay-test-events-dlq-depth"]
    # AND the event ids table expires its items by TTL, the index is keyed by pattern then partner
    ttl = aws("dynamodb").describe_time_to_live(TableName="hookrelay-test-events")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    index = aws("dynamodb").describe_table(TableName="hookrelay-test-subscriptions")["Table"]["KeySchema"]
    assert [(k["AttributeName"], k["KeyType"]) for k in index] == [
        ("pattern", "HASH"),
        ("partner_id", "RANGE"),
    ]
    # AND ensuring them again changes nothing (idempotent)
    ensure_shared(ctx.stage, ctx.clients)


def test_an_id_repeated_in_a_batch_fails_with_its_first_copy(ctx: Provisioner) -> None:
    # GIVEN the events queue refusing the batch's one send
    flaky = Failing(aws("sqs"), "send_message_batch", times=1)
    feed = EventFeed(ctx.stage, Clients(overrides={"sqs": flaky, "dynamodb": aws("dynamodb")}))
    event = {"topic": "a.b", "payload": {}, "id": "evt_twice"}
    # WHEN a batch holds the same id twice, THEN both answers are the first's 503: neither was enqueued
    answer = feed.publish_batch(BatchRequest(events=[event, event]))
    assert [(r.index, r.status, r.duplicate) for r in answer.results] == [(0, 503, False), (1, 503, False)]
    assert (answer.accepted, answer.duplicates, answer.rejected) == (0, 0, 2)
