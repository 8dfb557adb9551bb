"""`make run`'s stack with an ordered partner: created over the provisioner API (FIFO queues, mapping),
events published over HTTP with ordering keys, delivered by the runtime and the real handler in order
through a retry of every webhook."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay_local.partner_server import PartnerServer, Received, Reply
from hookrelay_local.stack import LocalStack, StackOptions
from tests.support.lambda_runtime import wait_for

pytestmark = pytest.mark.e2e
EVENTS = 8


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(aws_port=0, api_port=0, receiver_port=0, stage="e2eo")
    with LocalStack(options) as running:
        yield running


class FailsFirstAttempt:
    """Answers 500 to the first attempt of every webhook, then 200; records what it accepted, in order."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.accepted: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        data = json.loads(request.body)["data"]
        with self.lock:
            self.seen[request.headers["webhook-id"]] += 1
            if self.seen[request.headers["webhook-id"]] == 1:
                return Reply(status=500)
            self.accepted.append((data["key"], data["n"]))
        return Reply()


@pytest.mark.timeout(300)
def test_an_ordered_partner_gets_each_keys_webhooks_in_order_through_retries(stack: LocalStack) -> None:
    # GIVEN an ordered partner whose endpoint fails every first attempt, retries a second apart for
    # 20 s (a FIFO message's retry clock starts at its first receive, possibly behind its key's head:
    # the window must outlast the wait behind the key's other webhooks, docs/ordering.md)
    behaviour = FailsFirstAttempt()
    with PartnerServer(behaviour) as server:
        created = requests.post(
            f"{stack.api_url}/partners",
            json={
                "partner_id": "ledger",
                "url": server.url,
                "ordering": "fifo",
                "retry_policy": {"schedule_seconds": list(range(1, 21)), "jitter": 0},
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        # WHEN 8 events over 2 ordering keys are published over the REST API
        for n in range(EVENTS):
            key = f"customer-{n % 2}"
            answer = requests.post(
                f"{stack.api_url}/partners/ledger/events",
                json={"topic": "balance.changed", "payload": {"key": key, "n": n}, "ordering_key": key},
                timeout=10,
            )
            assert answer.status_code == 202, answer.text
        # THEN every webhook is accepted once, after one retry, and each key's in publish order
        wait_for(lambda: len(behaviour.accepted) >= EVENTS, timeout=90)
        for key in ("customer-0", "customer-1"):
            assert [n for k, n in behaviour.accepted if k == key] == list(range(int(key[-1]), EVENTS, 2))
        assert set(behaviour.seen.values()) == {2}
        # AND nothing is left queued, in flight or dead-lettered
        wait_for(lambda: requests.get(f"{stack.api_url}/partners/ledger", timeout=10).json()["queue"]
                 == {"visible": 0, "in_flight": 0, "delayed": 0}, timeout=90)  # fmt: skip
        status = requests.get(f"{stack.api_url}/partners/ledger", timeout=10).json()
        assert status["dead_letter_queue"]["visible"] == 0
        assert status["partner"]["ordering"] == "fifo"


class Records:
    """Accepts every webhook; records (webhook id, key, n) in the order they arrive."""

    def __init__(self) -> None:
        self.accepted: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        data = json.loads(request.body)["data"]
        with self.lock:
            self.accepted.append((request.headers["webhook-id"], data["key"], data["n"]))
        return Reply()


@pytest.mark.timeout(300)
def test_events_published_once_reach_an_ordered_partner_through_the_router_in_key_order(
    stack: LocalStack,
) -> None:
    # GIVEN an ordered partner taking ledger.* (its index rows say fifo: the router sends to its .fifo queue)
    behaviour = Records()
    with PartnerServer(behaviour) as server:
        created = requests.post(
            f"{stack.api_url}/partners",
            json={"partner_id": "books", "url": server.url, "ordering": "fifo", "event_types": ["ledger.*"]},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        # WHEN 6 events over 2 ordering keys are published once, in one batch, to POST /events/batch
        keys = [f"k{n % 2}" for n in range(6)]
        events = [
            {"topic": "ledger.posted", "payload": {"key": k, "n": n}, "id": f"evt_o{n}", "ordering_key": k}
            for n, k in enumerate(keys)
        ]
        answer = requests.post(f"{stack.api_url}/events/batch", json={"events": events}, timeout=10)
        assert (answer.status_code, answer.json()["accepted"]) == (200, 6), answer.text
        # THEN the router and the partner's handler deliver each once, webhook-id = the event id, and each
        # key's in publish order
        wait_for(lambda: len(behaviour.accepted) >= 6, timeout=90)
        assert sorted(webhook_id for webhook_id, _, _ in behaviour.accepted) == [
            f"evt_o{n}" for n in range(6)
        ]
        for key in ("k0", "k1"):
            assert [n for _, k, n in behaviour.accepted if k == key] == list(range(int(key[1]), 6, 2))


@pytest.mark.timeout(300)
def test_events_published_in_separate_requests_reach_an_ordered_partner_in_key_order(
    stack: LocalStack,
) -> None:
    # GIVEN make run's stack: the ordered router function consumes the FIFO events queue, reporting batch
    # item failures (as the deploy's merge template sets it)
    lambda_ = Clients().lambda_
    function = f"hookrelay-{stack.options.stage}-route-ordered-events"
    arn = lambda_.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    mappings = lambda_.list_event_source_mappings(FunctionName=arn)["EventSourceMappings"]
    assert [(m["EventSourceArn"].rsplit(":", 1)[-1], m["FunctionResponseTypes"]) for m in mappings] == [
        (naming.events_fifo_queue(stack.options.stage), ["ReportBatchItemFailures"])
    ]
    # AND an ordered partner taking chain.* (the router's FIFO events queue feeds its .fifo queue)
    behaviour = Records()
    with PartnerServer(behaviour) as server:
        created = requests.post(
            f"{stack.api_url}/partners",
            json={"partner_id": "chain", "url": server.url, "ordering": "fifo", "event_types": ["chain.*"]},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        # WHEN 12 events over 2 ordering keys are published one request each to POST /events (the FIFO
        # events queue keeps each key's events in publish order for the router)
        ids: list[str] = []
        for n in range(12):
            key = f"c{n % 2}"
            answer = requests.post(
                f"{stack.api_url}/events",
                json={"topic": "chain.step", "payload": {"key": key, "n": n}, "ordering_key": key},
                timeout=10,
            )
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["event_id"])
        # THEN the router (route_ordered_events) and the partner's handler deliver each once, webhook-id = the
        # event id, and each key's in publish order
        wait_for(lambda: len(behaviour.accepted) >= 12, timeout=90)
        assert sorted(webhook_id for webhook_id, _, _ in behaviour.accepted) == sorted(ids)
        for key in ("c0", "c1"):
            assert [n for _, k, n in behaviour.accepted if k == key] == list(range(int(key[1]), 12, 2))
