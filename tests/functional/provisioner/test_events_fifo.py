"""Order across requests for ``POST /events`` with an ordering key: the FIFO events queue.

Events published with an ``ordering_key`` go to ``hookrelay-<stage>-events.fifo`` (group = the key,
deduplication id = the event id), the others to the standard events queue. The router consumes the FIFO
queue with Lambda's FIFO rule (a group comes back from its first failure, in order), so two requests with
the same key reach an ordered partner's FIFO queue in publish order.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.provisioning.api import Api
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.events.router import Router

from .conftest import Failing, aws
from .events_support import acknowledge, queue_url, queued_events, receive_events
from .test_api import call
from .test_ordered_everywhere import fifo_messages


def events_on(name: str) -> list[tuple[str, str | None, str | None]]:
    """(event id, group, dedup id) of every message on an events queue, in the order SQS hands them out
    (each batch deleted before the next receive)."""
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    found: list[tuple[str, str | None, str | None]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", []):
        for m in batch:
            attributes = m.get("Attributes", {})
            found.append(
                (
                    json.loads(m["Body"])["id"],
                    attributes.get("MessageGroupId"),
                    attributes.get("MessageDeduplicationId"),
                )
            )
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return found


def publish(http: Any, event_id: str, key: str | None, topic: str = "ledger.posted") -> None:
    body: dict[str, Any] = {"topic": topic, "payload": {"id": event_id}, "id": event_id}
    if key is not None:
        body["ordering_key"] = key
    status, answer = call(http, "POST", "/events", body)
    assert (status, answer) == (202, {"event_id": event_id, "topic": topic, "duplicate": False})


class FailsSendsTo:
    """An SQS client whose SendMessageBatch to queues whose URL ends with ``suffix`` raises the next
    ``times`` calls; everything else passes through."""

    def __init__(self, real: Any, suffix: str, times: int) -> None:
        self.real, self.suffix, self.remaining = real, suffix, times

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def send_message_batch(self, **kwargs: Any) -> Any:
        if str(kwargs["QueueUrl"]).endswith(self.suffix) and self.remaining > 0:
            self.remaining -= 1
            error = {"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}
            raise ClientError(error, "SendMessageBatch")
        return self.real.send_message_batch(**kwargs)


def test_the_stage_has_a_fifo_events_queue_with_a_fifo_dlq_and_its_alarm(ctx: Provisioner) -> None:
    # GIVEN the stage's shared resources (made by the ctx fixture, as make deploy does)
    sqs = aws("sqs")
    url = queue_url(ctx, naming.events_fifo_queue(ctx.stage))
    # THEN the FIFO events queue is FIFO, deduplicates by the id it is given, and redrives to a FIFO DLQ
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["FifoQueue"], attributes["ContentBasedDeduplication"]) == ("true", "false")
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{naming.events_fifo_dead_letter_queue(ctx.stage)}")
    assert redrive["maxReceiveCount"] == 5
    dlq = queue_url(ctx, naming.events_fifo_dead_letter_queue(ctx.stage))
    dlq_attributes = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["FifoQueue"])["Attributes"]
    assert dlq_attributes["FifoQueue"] == "true"
    # AND an alarm watches the FIFO DLQ's depth, named so that no partner is read from it
    alarm_name = naming.events_fifo_dlq_alarm(ctx.stage)
    alarms = aws("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert [a["Dimensions"] for a in alarms] == [
        [{"Name": "QueueName", "Value": naming.events_fifo_dead_letter_queue(ctx.stage)}]
    ]
    assert naming.partner_from_name(naming.events_fifo_dlq_alarm(ctx.stage)) is None


def test_keyed_events_go_to_the_fifo_events_queue_in_publish_order_and_keyless_ones_to_the_standard_one(
    http: Any, ctx: Provisioner
) -> None:
    # WHEN four events are published in four requests: two with key "k", one with "j", one without a key
    for event_id, key in [("evt_1", "k"), ("evt_2", None), ("evt_3", "j"), ("evt_4", "k")]:
        publish(http, event_id, key)
    # THEN the keyed ones are on the FIFO events queue, group = the key, dedup id = the event id, each
    # key's in publish order
    fifo = events_on(naming.events_fifo_queue(ctx.stage))
    assert [e for e in fifo if e[1] == "k"] == [("evt_1", "k", "evt_1"), ("evt_4", "k", "evt_4")]
    assert [e for e in fifo if e[1] != "k"] == [("evt_3", "j", "evt_3")]
    # AND the keyless one is on the standard events queue, with no group
    assert events_on(naming.events_queue(ctx.stage)) == [("evt_2", None, None)]


def test_a_key_refused_on_the_fifo_queue_sends_none_of_its_later_events(http: Any, ctx: Provisioner) -> None:
    # GIVEN the FIFO events queue refusing its next SendMessageBatch (the keyless event goes to the
    # standard queue with its own SendMessageBatch, so only keyed events are published here)
    ctx.clients.overrides["sqs"] = Failing(aws("sqs"), "send_message_batch", times=1)
    # WHEN a batch of 12 events with the key "k" is published (10 in the first send, 2 in the second)
    events = [{"topic": "t", "payload": {}, "id": f"b{n:02d}", "ordering_key": "k"} for n in range(12)]
    status, answer = call(http, "POST", "/events/batch", {"events": events})
    # THEN all twelve answer 503: the first ten were refused, and the last two were not sent behind them
    assert (status, answer["accepted"], answer["rejected"]) == (200, 0, 12)
    assert {r["status"] for r in answer["results"]} == {503}
    # AND the FIFO events queue holds none of them (a retry of the batch sends the key in order)
    assert events_on(naming.events_fifo_queue(ctx.stage)) == []


def test_two_requests_with_one_key_reach_an_ordered_partner_in_publish_order(
    http: Any, ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN an ordered partner taking ledger.*
    make_partner("acme", ordering="fifo", event_types=["ledger.*"])
    # WHEN three events of key "k" are published in three requests, and the router consumes the FIFO
    # events queue as Lambda's FIFO mapping would (one batch at a time)
    for event_id in ("evt_1", "evt_2", "evt_3"):
        publish(http, event_id, "k")
    event = receive_events(ctx, fifo=True)
    assert [r["attributes"]["MessageGroupId"] for r in event["Records"]] == ["k", "k", "k"]
    answer = Router.of_stage(ctx.stage, ctx.clients).route(event)
    acknowledge(ctx, event, answer)
    # THEN every event is acknowledged and the partner's FIFO queue has them in publish order, in the
    # key's group, each deduplicated by its event id
    assert answer == {"batchItemFailures": []}
    assert queued_events(ctx, fifo=True) == 0
    assert fifo_messages() == [("evt_1", "k", "evt_1"), ("evt_2", "k", "evt_2"), ("evt_3", "k", "evt_3")]


def test_a_failed_send_of_a_keys_first_event_holds_its_later_events_and_they_come_back_in_order(
    http: Any, ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN two ordered partners: "opener" takes ledger.opened, "closer" takes ledger.closed
    make_partner("opener", ordering="fifo", event_types=["ledger.opened"])
    make_partner("closer", ordering="fifo", event_types=["ledger.closed"])
    # AND, in three requests, ledger.opened then ledger.closed with key "k", and one event with key "j"
    publish(http, "evt_open", "k", "ledger.opened")
    publish(http, "evt_close", "k", "ledger.closed")
    publish(http, "evt_other", "j", "ledger.closed")
    # WHEN the router handles the FIFO batch while every send to opener's queue fails (the send and its retry)
    event = receive_events(ctx, fifo=True)
    ids = {json.loads(r["body"])["id"]: r["messageId"] for r in event["Records"]}
    router = Router.of_stage(ctx.stage, ctx.clients)
    router.clients = Clients(overrides={"sqs": FailsSendsTo(aws("sqs"), "-opener.fifo", 2)})
    answer = router.route(event)
    acknowledge(ctx, event, answer)
    # THEN evt_open is a failure AND so is evt_close, sent to closer but held behind its key's head;
    # evt_other (another key) is acknowledged
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": ids["evt_open"]}, {"itemIdentifier": ids["evt_close"]}]
    }
    assert queued_events(ctx, fifo=True) == 2
    # AND WHEN the group comes back (its visibility timeout over; SQS healthy), in order, and the router runs
    fifo_url = queue_url(ctx, naming.events_fifo_queue(ctx.stage))
    handles = {r["messageId"]: r["receiptHandle"] for r in event["Records"]}
    for failure in answer["batchItemFailures"]:
        handle = handles[failure["itemIdentifier"]]
        aws("sqs").change_message_visibility(QueueUrl=fifo_url, ReceiptHandle=handle, VisibilityTimeout=0)
    again = receive_events(ctx, fifo=True)
    assert [json.loads(r["body"])["id"] for r in again["Records"]] == ["evt_open", "evt_close"]
    answer = Router.of_stage(ctx.stage, ctx.clients).route(again)
    acknowledge(ctx, again, answer)
    # THEN both are acknowledged, opener has evt_open, and closer holds evt_close once (its second send
    # carried the same deduplication id, the event id) after nothing of key "k" that came later
    assert answer == {"batchItemFailures": []}
    assert queued_events(ctx, fifo=True) == 0
    opener = fifo_messages(naming.partner_queue(ctx.stage, "opener") + ".fifo")
    closer = fifo_messages(naming.partner_queue(ctx.stage, "closer") + ".fifo")
    assert opener == [("evt_open", "k", "evt_open")]
    assert sorted(closer) == [("evt_close", "k", "evt_close"), ("evt_other", "j", "evt_other")]


def test_a_record_that_is_not_an_event_holds_the_rest_of_its_group_on_a_fifo_batch(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a FIFO batch: group "k" = [not an event, a good event], group "j" = [a good event]
    make_partner("acme", ordering="fifo", event_types=["t"])
    arn = "arn:aws:sqs:us-east-1:123456789012:" + naming.events_fifo_queue(ctx.stage)

    def record(message_id: str, group: str, body: str) -> dict[str, Any]:
        return {
            "messageId": message_id,
            "body": body,
            "attributes": {"MessageGroupId": group},
            "eventSourceARN": arn,
        }

    good = json.dumps({"id": "evt_k", "topic": "t", "payload": {}, "ordering_key": "k"})
    other = json.dumps({"id": "evt_j", "topic": "t", "payload": {}, "ordering_key": "j"})
    event = {"Records": [record("m1", "k", "not json"), record("m2", "j", other), record("m3", "k", good)]}
    # WHEN the router handles it
    answer = Router.of_stage(ctx.stage, ctx.clients).route(event)
    # THEN the bad record and the later record of its group fail; the other group's goes on
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    # AND the same batch from the standard queue fails the bad record alone
    for r in event["Records"]:
        r["eventSourceARN"] = arn.removesuffix(".fifo")
    answer = Router.of_stage(ctx.stage, ctx.clients).route(event)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_the_app_routes_the_fifo_events_queue_with_route_ordered_events(
    ctx: Provisioner, make_partner: Any, app_module: ModuleType, monkeypatch: pytest.MonkeyPatch, http: Any
) -> None:
    # GIVEN the provisioner app over this moto stage, an ordered partner, and two keyed events published
    make_partner("acme", ordering="fifo", event_types=["t"])
    api = Api(ctx)
    monkeypatch.setattr(app_module, "api", lambda: api)
    publish(http, "evt_a", "k", "t")
    publish(http, "evt_b", "k", "t")
    # THEN the app has a consumer of the FIFO events queue
    consumers = {c.name: c.queue(app_module.STAGE) for c in app_module.CONSUMERS}
    assert consumers["route_ordered_events"] == naming.events_fifo_queue(app_module.STAGE)
    # AND WHEN Lambda invokes it with the FIFO batch, THEN the events reach the partner in order
    event = receive_events(ctx, fifo=True)
    assert app_module.route_ordered_events(event, None) == {"batchItemFailures": []}
    assert [m[0] for m in fifo_messages()] == ["evt_a", "evt_b"]
