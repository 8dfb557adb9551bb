"""`make run`'s stack end to end: the provisioner API creates a partner, events are published over HTTP,
the local Lambda runtime delivers them with the real handler to a real server, retries included."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from hookrelay.signing import standard as signing
from hookrelay_local.partner_server import PartnerServer, Received, Reply
from hookrelay_local.stack import LocalStack, StackOptions, free_port

pytestmark = pytest.mark.e2e
EVENTS = 12


@pytest.fixture(autouse=True)
def _no_real_aws() -> None:
    """Overrides the suite-wide fixture: the stack sets (and restores) its own AWS environment."""


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(aws_port=free_port(), api_port=free_port(), receiver_port=free_port(), stage="e2e")
    with LocalStack(options) as running:
        yield running


class FailsFirstAttempt:
    """A partner that answers 500 to the first attempt of every webhook, then 200."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        with self.lock:
            self.seen[request.headers["webhook-id"]] += 1
            first = self.seen[request.headers["webhook-id"]] == 1
        return Reply(status=500 if first else 200)


def wait_for(condition: Any, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.2)


def test_published_webhooks_arrive_signed_after_a_retry_and_nothing_is_lost(stack: LocalStack) -> None:
    # GIVEN a partner whose endpoint fails every first attempt, with a short retry schedule
    behaviour = FailsFirstAttempt()
    with PartnerServer(behaviour) as server:
        created = requests.post(
            f"{stack.api_url}/partners",
            json={
                "partner_id": "flaky",
                "url": server.url,
                "retry_policy": {"schedule_seconds": [1, 2], "jitter": 0},
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        # WHEN producers publish events over the REST API
        ids = []
        for i in range(EVENTS):
            answer = requests.post(
                f"{stack.api_url}/partners/flaky/events",
                json={"topic": "transfer.created", "payload": {"n": i}},
                timeout=10,
            )
            assert answer.status_code in (200, 201, 202), answer.text
            ids.append(answer.json()["webhook_id"])
        # THEN every webhook is delivered after exactly one retry, signed with the partner's secret
        wait_for(lambda: all(behaviour.seen[i] >= 2 for i in ids))
        assert {i: behaviour.seen[i] for i in ids} == dict.fromkeys(ids, 2)
        received = server.requests_snapshot()
        for request in received:
            assert signing.verify(secret, request.headers, request.body).webhook_id in ids
        assert {r.headers["webhook-id"] for r in received} == set(ids)

        # AND the attempt log shows each webhook's retry and delivery
        def logged() -> Counter[str]:
            items = requests.get(f"{stack.api_url}/partners/flaky/deliveries?limit=100", timeout=10).json()[
                "items"
            ]
            return Counter(item["outcome"] for item in items)

        wait_for(lambda: logged()["delivered"] >= EVENTS)
        assert logged() == {"delivered": EVENTS, "retry_scheduled": EVENTS}
        # AND nothing is left queued, in flight or dead-lettered: nothing lost
        status = requests.get(f"{stack.api_url}/partners/flaky", timeout=10).json()
        assert status["queue"] == {"visible": 0, "in_flight": 0, "delayed": 0}
        assert status["dead_letter_queue"]["visible"] == 0


def test_the_sample_receiver_accepts_what_the_platform_sends(stack: LocalStack) -> None:
    # GIVEN the sample partner ("demo") pointing at the stack's own receiver app
    created = requests.post(
        f"{stack.api_url}/partners", json={"partner_id": "demo", "url": stack.receiver_url}, timeout=30
    )
    assert created.status_code == 201, created.text
    # WHEN an event is published
    answer = requests.post(
        f"{stack.api_url}/partners/demo/events",
        json={"topic": "customer.created", "payload": {"id": 7}},
        timeout=10,
    )
    webhook_id = answer.json()["webhook_id"]

    # THEN the receiver verified it (with the secret it reads from Secrets Manager) and queued it: 200
    def delivered() -> list[dict[str, Any]]:
        items = requests.get(f"{stack.api_url}/partners/demo/deliveries", timeout=10).json()["items"]
        return [i for i in items if i["webhook_id"] == webhook_id and i["outcome"] == "delivered"]

    wait_for(lambda: bool(delivered()))
    assert '"status":"queued"' in delivered()[0]["response_excerpt"]


def test_the_stack_never_uses_the_developers_real_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a developer's shell with real-looking keys, a session token and a profile
    real = {
        "AWS_ACCESS_KEY_ID": "AKIAREALREALREAL",
        "AWS_SECRET_ACCESS_KEY": "real-secret",
        "AWS_SESSION_TOKEN": "real-token",
        "AWS_PROFILE": "prod-admin",
    }
    for name, value in real.items():
        monkeypatch.setenv(name, value)
    ports = {"aws_port": free_port(), "api_port": free_port(), "receiver_port": free_port()}
    options = StackOptions(**ports, stage="creds")
    # WHEN the stack runs
    with LocalStack(options) as running:
        during = {name: os.environ.get(name) for name in real}
        stored = running.client("lambda").list_functions()["Functions"]
    # THEN while it ran only dummy keys were set, no token or profile, and no function stored a real key
    assert during == {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
    }
    assert stored, "the stack bootstraps its recorder and inbox functions"
    assert not [f["FunctionName"] for f in stored if any(v in str(f) for v in real.values())]
    # AND the developer's environment is back as it was
    assert {name: os.environ.get(name) for name in real} == real
