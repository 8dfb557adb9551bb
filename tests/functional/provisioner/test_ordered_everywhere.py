"""Ordered partners (issue 17) on the paths main grew beside the partner publish: the events router
(``POST /events``), resend, replay, redrive and the console's fleet all name and fill the ``.fifo`` queues.

A FIFO queue drops a second send of one deduplication id for 5 minutes, so every path that sends a
webhook *again* (resend, replay, redrive) must use a deduplication id other than the webhook id: each
test below sends the same webhook twice within that window and expects both copies on the queue.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hookrelay import naming
from hookrelay.models import WebhookMessage
from hookrelay.partners.ordering import PARTNER_WIDE_GROUP
from hookrelay.provisioning.console.fleet import FleetQuery, fleet_page
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.events.router import Router
from hookrelay.provisioning.publish import PublishRequest

from .conftest import STAGE, aws
from .events_support import acknowledge, partner_messages, receive_events
from .test_console import console, session_cookie, text, web  # noqa: F401 (fixtures)
from .test_replay import run_replay_worker

FIFO = f"hookrelay-{STAGE}-acme.fifo"
FIFO_DLQ = f"hookrelay-{STAGE}-acme-dlq.fifo"
JSON = {"Content-Type": "application/json"}


def call(http: Any, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body)
    response = getattr(http.http, method.lower())(path, headers=JSON, body=data)
    return response.status_code, json.loads(response.body)


def fifo_messages(name: str = FIFO) -> list[tuple[str, str, str]]:
    """(webhook id, group, dedup id) of every message on a FIFO queue, in the order SQS hands them out
    (each batch deleted before the next receive, as the handler would)."""
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    found: list[tuple[str, str, str]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", []):
        for m in batch:
            attributes = m["Attributes"]
            found.append(
                (
                    json.loads(m["Body"])["id"],
                    attributes["MessageGroupId"],
                    attributes["MessageDeduplicationId"],
                )
            )
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return found


def route(ctx: Provisioner) -> dict[str, Any]:
    """The router over the events queue, then over the FIFO events queue (the keyed events); the
    failures of both."""
    failures: list[dict[str, str]] = []
    for fifo in (False, True):
        event = receive_events(ctx, fifo=fifo)
        answer = Router.of_stage(ctx.stage, ctx.clients).route(event)
        acknowledge(ctx, event, answer)
        failures += answer["batchItemFailures"]
    return {"batchItemFailures": failures}


def test_a_routed_event_reaches_an_ordered_partner_on_its_fifo_queue_in_its_keys_group(
    http: Any, ctx: Provisioner, make_partner: Any, aws_calls: list[str]
) -> None:
    # GIVEN an ordered partner and an unordered one, both taking invoice.*
    make_partner("acme", ordering="fifo", event_types=["invoice.*"])
    make_partner("globex", event_types=["invoice.*"])
    # WHEN three events are published once (two with the key "cus_1", one without) and the router runs
    batch = [
        {"topic": "invoice.created", "payload": {"n": 1}, "id": "evt_1", "ordering_key": "cus_1"},
        {"topic": "invoice.paid", "payload": {"n": 2}, "id": "evt_2", "ordering_key": "cus_1"},
        {"topic": "invoice.paid", "payload": {"n": 3}, "id": "evt_3"},
    ]
    status, answer = call(http, "POST", "/events/batch", {"events": batch})
    assert (status, answer["accepted"]) == (200, 3), answer
    aws_calls.clear()
    assert route(ctx) == {"batchItemFailures": []}
    # THEN the router read no partner document (the index rows say which partner is ordered)
    assert "dynamodb:GetItem" not in aws_calls
    # AND the ordered partner has them on its FIFO queue: the keyed ones in the key's group, in publish
    # order, the other in the partner-wide group; each deduplicated by its event id (the keyed ones came
    # through the FIFO events queue, the other through the standard one: no order between the groups)
    queued = fifo_messages()
    keyed = [m for m in queued if m[1] == "cus_1"]
    assert keyed == [("evt_1", "cus_1", "evt_1"), ("evt_2", "cus_1", "evt_2")]
    assert [m for m in queued if m[1] != "cus_1"] == [("evt_3", PARTNER_WIDE_GROUP, "evt_3")]
    # AND the unordered partner has all three on its standard queue, with no ordering key in the body
    assert sorted((m["id"], m.get("ordering_key")) for m in partner_messages(ctx, "globex")) == [
        ("evt_1", None), ("evt_2", None), ("evt_3", None),
    ]  # fmt: skip


def test_post_events_refuses_a_malformed_ordering_key_with_a_400(http: Any) -> None:
    status, error = call(http, "POST", "/events", {"topic": "t", "payload": {}, "ordering_key": "a b"})
    assert (status, sorted(error)) == (400, ["error", "message"])


def test_a_routed_event_sent_twice_reaches_an_ordered_partner_once(
    http: Any, ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN an ordered partner that got an event through the router
    make_partner("acme", ordering="fifo", event_types=["t"])
    assert call(http, "POST", "/events", {"topic": "t", "payload": {}, "id": "evt_1", "ordering_key": "k"})[0]
    route(ctx)
    # WHEN the router sends it again (the events queue redelivered it after a failed batch)
    aws("sqs").send_message(
        QueueUrl=aws("sqs").get_queue_url(QueueName=naming.events_queue(STAGE))["QueueUrl"],
        MessageBody=json.dumps({"id": "evt_1", "topic": "t", "payload": {}, "ordering_key": "k"}),
    )
    route(ctx)
    # THEN the FIFO queue holds it once (its dedup id is the event id)
    assert fifo_messages() == [("evt_1", "k", "evt_1")]


def test_resend_to_an_ordered_partner_lands_on_its_fifo_queue_in_the_same_group(
    http: Any, ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN an ordered partner and a webhook just published to it with the key "cus_9"
    make_partner("acme", ordering="fifo")
    ctx.publisher.publish(
        "acme", PublishRequest(topic="t", payload={"n": 1}, id="msg_1", ordering_key="cus_9")
    )
    # THEN the store kept its ordering key
    assert ctx.messages.get("acme", "msg_1").message.ordering_key == "cus_9"
    # WHEN it is resent twice within SQS's 5-minute deduplication window
    assert call(http, "POST", "/partners/acme/webhooks/msg_1/resend")[0] == 202
    assert call(http, "POST", "/partners/acme/webhooks/msg_1/resend")[0] == 202
    # THEN the FIFO queue holds the original and both resends, all in the key's group, same webhook id,
    # each resend under a deduplication id of its own
    queued = fifo_messages()
    assert [(webhook_id, group) for webhook_id, group, _ in queued] == [("msg_1", "cus_9")] * 3
    dedup_ids = [dedup for _, _, dedup in queued]
    assert dedup_ids[0] == "msg_1"
    assert len(set(dedup_ids)) == 3
    assert all(d.startswith("msg_1/resend-") for d in dedup_ids[1:])


def test_replay_to_an_ordered_partner_lands_on_its_fifo_queue_in_publish_order(
    http: Any, ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN an ordered partner with three webhooks just published: two with key "a", one without
    make_partner("acme", ordering="fifo")
    ctx.settings = ctx.settings.model_copy(update={"replay_delay_seconds": 0, "replay_chunk_size": 2})
    for n, key in enumerate(["a", None, "a"]):
        ctx.publisher.publish(
            "acme", PublishRequest(topic="t", payload={"n": n}, id=f"msg_{n}", ordering_key=key)
        )
    originals = fifo_messages()
    assert len(originals) == 3
    # WHEN the last hour is replayed, within the 5-minute window of the first sends
    now = datetime.now(UTC)
    since, until = (now - timedelta(hours=1)).isoformat(), (now + timedelta(minutes=1)).isoformat()
    status, started = call(http, "POST", "/partners/acme/replay", {"since": since, "until": until})
    assert (status, started["matched"]) == (202, 3)
    run_replay_worker(http)
    # THEN all three are on the FIFO queue again, in their groups, in publish order, each under the
    # deduplication id "<webhook id>/<replay id>"
    replay_id = started["replay_id"]
    assert fifo_messages() == [
        ("msg_0", "a", f"msg_0/{replay_id}"),
        ("msg_1", PARTNER_WIDE_GROUP, f"msg_1/{replay_id}"),
        ("msg_2", "a", f"msg_2/{replay_id}"),
    ]


def dead_letter_fifo(message: WebhookMessage, group: str) -> None:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=FIFO_DLQ)["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody=message.to_sqs_body(),
        MessageGroupId=group,
        MessageDeduplicationId=message.id,
    )


def test_redrive_moves_a_fifo_dlq_back_in_order_in_its_groups(
    console: Provisioner,  # noqa: F811
    web: Any,  # noqa: F811
    make_partner: Any,
) -> None:
    # GIVEN an ordered partner whose three webhooks were published moments ago (their webhook ids are in
    # the FIFO queue's 5-minute deduplication window) and then dead-lettered: two of group "g", one other
    make_partner("acme", ordering="fifo")
    for n, key in enumerate(["g", "h", "g"]):
        console.publisher.publish(
            "acme", PublishRequest(topic="t", payload={}, id=f"msg_{n}", ordering_key=key)
        )
    fifo_messages()  # the handler took them off the queue
    for n, key in enumerate(["g", "h", "g"]):
        dead_letter_fifo(WebhookMessage(id=f"msg_{n}", partner_id="acme", topic="t", payload={}), key)
    # WHEN the redrive operation runs
    answer = web.post("/partners/acme/redrive", headers=JSON, body="{}")
    # THEN all three are back on the FIFO queue, in their groups and in order, not swallowed as duplicates
    assert answer.status_code == 200, text(answer)
    assert (answer.json_body["moved"], answer.json_body["left"]) == (3, 0)
    back = fifo_messages()
    assert [(webhook_id, group) for webhook_id, group, _ in back] == [
        ("msg_0", "g"),
        ("msg_1", "h"),
        ("msg_2", "g"),
    ]
    assert all(dedup.startswith(f"{webhook_id}/redrive-") for webhook_id, _, dedup in back)


def test_the_fleet_lists_an_ordered_partner_with_its_fifo_queue_depths(
    console: Provisioner,  # noqa: F811
    web: Any,  # noqa: F811
    make_partner: Any,
) -> None:
    # GIVEN an ordered partner with two webhooks waiting, and an unordered one
    make_partner("acme", ordering="fifo")
    make_partner("globex")
    for _ in range(2):
        console.publisher.publish("acme", PublishRequest(topic="t", payload={}, ordering_key="k"))
    # WHEN the operator opens the fleet
    answer = web.get("/console", headers={"Cookie": session_cookie(web)})
    # THEN both partners are listed, without an error
    assert answer.status_code == 200, text(answer)
    assert 'href="/console/partners/acme"' in text(answer)
    assert 'href="/console/partners/globex"' in text(answer)
    # AND the ordered partner's depths are its FIFO queues' (a standard name would read as missing)
    rows = {row.partner.partner_id: row for row in fleet_page(console, FleetQuery.from_query({})).rows}
    assert rows["acme"].queue == {"visible": 2, "in_flight": 0, "delayed": 0}
    assert rows["acme"].dead_letter_queue == {"visible": 0, "in_flight": 0, "delayed": 0}
