"""`make demo`'s fan-out scene: events published once (``POST /events/batch``), routed by topic.

Three partners subscribe differently - ``billing`` to ``invoice.*``, ``crm`` to ``customer.created``,
``audit`` to everything (``[]``) - and a producer publishes a batch of invoice and customer events once,
without naming a partner. The router sends each to exactly the partners whose types accept it, with
``webhook-id`` = the event id; publishing one id again is answered 200 ``duplicate`` and never sent again.
The scene's counts join the demo's summary: expected webhooks, delivered, lost (must be 0). It runs
first and deletes its partners after: ``POST /events`` reaches every partner whose types accept the topic,
and the demo's other partners take every topic.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from hookrelay.provisioning.events.topics import accepts
from hookrelay_local.partner_server import PartnerServer, Received, Reply

SUBSCRIPTIONS = {"billing": ["invoice.*"], "crm": ["customer.created"], "audit": []}
TOPICS = ("invoice.paid", "customer.created", "invoice.payment.failed")


class Inbox:
    """A partner endpoint counting the webhook ids it was sent."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        with self.lock:
            self.received[request.headers.get("webhook-id", "")] += 1
        return Reply(status=200)

    def ids(self) -> set[str]:
        with self.lock:
            return set(self.received)


@dataclass(frozen=True)
class FanoutOutcome:
    events: int
    expected: int  # (event, partner) pairs the partners' types accept
    delivered: int  # of those, received by the right partner
    misrouted: int  # received by a partner whose types do not accept it
    duplicate_answered: bool  # publishing an id again answered 200 duplicate

    @property
    def lost(self) -> int:
        return self.expected - self.delivered

    def summary(self) -> str:
        again = "answered 200 duplicate" if self.duplicate_answered else "NOT answered as a duplicate"
        return (
            f"fan-out: {self.events} events published once to {len(SUBSCRIPTIONS)} partners by topic: "
            f"{self.expected} webhooks expected, {self.delivered} delivered, {self.misrouted} misrouted; "
            f"an id published again {again}; lost: {self.lost}"
        )


def fanout_scene(api: str, events: int, say: Callable[[str], Any] = print) -> FanoutOutcome:
    inboxes = {pid: Inbox() for pid in SUBSCRIPTIONS}
    servers = {pid: PartnerServer(inbox, record=False).start() for pid, inbox in inboxes.items()}
    session = requests.Session()
    try:
        for pid, types in SUBSCRIPTIONS.items():
            body = {"partner_id": pid, "url": servers[pid].url, "event_types": types}
            session.post(f"{api}/partners", json=body, timeout=60).raise_for_status()
        batch = [
            {"topic": TOPICS[i % len(TOPICS)], "payload": {"n": i}, "id": f"evt_demo_{i}"}
            for i in range(events)
        ]
        answer = session.post(f"{api}/events/batch", json={"events": batch}, timeout=60)
        answer.raise_for_status()
        say(f"published {answer.json()['accepted']} events once (POST /events/batch) to partners by topic")
        again = session.post(f"{api}/events", json=batch[0], timeout=30)
        duplicate = again.status_code == 200 and again.json().get("duplicate") is True
        expected = {
            (e["id"], pid)
            for e in batch
            for pid, types in SUBSCRIPTIONS.items()
            if accepts(types, e["topic"])
        }

        def delivered() -> set[tuple[str, str]]:
            return {(i, pid) for pid, inbox in inboxes.items() for i in inbox.ids()}

        deadline = time.monotonic() + 120
        while not expected <= delivered() and time.monotonic() < deadline:
            time.sleep(0.5)
        got = delivered()
        return FanoutOutcome(events, len(expected), len(expected & got), len(got - expected), duplicate)
    finally:
        for pid, server in servers.items():  # the scene's partners go: the demo's own take every topic
            session.delete(f"{api}/partners/{pid}", timeout=60)
            server.stop()
