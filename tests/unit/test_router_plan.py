"""The router's decision (issue 14): events and their subscribers in, one send per partner queue out."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hookrelay.provisioning.events.model import Event
from hookrelay.provisioning.events.queues import sibling_url
from hookrelay.provisioning.events.router import plan

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:5000/123456789012/hookrelay-dev-events"


def url(pid: str) -> str:
    return sibling_url(BASE, f"hookrelay-dev-{pid}")


def test_each_partner_gets_one_send_with_every_event_it_subscribes_to() -> None:
    # GIVEN three events of a batch (record indexes 0, 1, 3) and who subscribes to each topic
    events = {
        0: Event(id="evt_a", topic="invoice.paid", payload={"n": 1}, created_at=AT),
        1: Event(id="evt_b", topic="customer.created", payload={"n": 2}, created_at=AT),
        3: Event(id="evt_c", topic="invoice.paid", payload={"n": 3}, created_at=AT),
    }
    subscribers = {"invoice.paid": ["acme", "globex"], "customer.created": ["acme"]}
    # WHEN the fan-out is planned
    sends = plan(events, subscribers, url)
    # THEN one send per partner queue, holding the events it takes, in record order
    assert [(s.partner_id, s.queue_url, [i for i, _ in s.messages]) for s in sends] == [
        ("acme", "http://127.0.0.1:5000/123456789012/hookrelay-dev-acme", [0, 1, 3]),
        ("globex", "http://127.0.0.1:5000/123456789012/hookrelay-dev-globex", [0, 3]),
    ]
    # AND every message's id (its webhook-id) is the event id, for each partner, with the event's time
    acme = {i: m for i, m in sends[0].messages}
    globex = {i: m for i, m in sends[1].messages}
    assert [(m.id, m.partner_id, m.topic) for m in acme.values()] == [
        ("evt_a", "acme", "invoice.paid"), ("evt_b", "acme", "customer.created"),
        ("evt_c", "acme", "invoice.paid"),
    ]  # fmt: skip
    assert (globex[0].id, globex[0].created_at, globex[0].payload) == ("evt_a", AT, {"n": 1})
    assert json.loads(acme[0].http_body()) == json.loads(globex[0].http_body())  # the same envelope


def test_an_event_nobody_subscribes_to_plans_no_send() -> None:
    # GIVEN an event of a topic no partner takes, THEN nothing is sent
    assert plan({0: Event(id="evt_x", topic="nobody.cares", payload={})}, {}, url) == []
