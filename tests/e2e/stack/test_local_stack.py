"""`make run`'s stack end to end: the provisioner API creates a partner, events are published over HTTP,
the local Lambda runtime delivers them with the real handler to a real server, retries included."""

from __future__ import annotations

import io
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.provisioning.resources.artifact import upload_artifact
from hookrelay.signing import standard as signing
from hookrelay_local.partner_server import PartnerServer, Received, Reply
from hookrelay_local.stack import LocalStack, StackOptions
from tests.support.lambda_runtime import wait_for

pytestmark = pytest.mark.e2e
EVENTS = 12


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(aws_port=0, api_port=0, receiver_port=0, stage="e2e")
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
        wait_for(lambda: all(behaviour.seen[i] >= 2 for i in ids), 40.0, 0.2)
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

        wait_for(lambda: logged()["delivered"] >= EVENTS, 40.0, 0.2)
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

    wait_for(lambda: bool(delivered()), 40.0, 0.2)
    assert '"status":"queued"' in delivered()[0]["response_excerpt"]


def test_update_code_runs_on_the_stacks_rollout_worker_and_delivery_follows_the_alias(
    stack: LocalStack,
) -> None:
    # GIVEN a partner that answers 200, created over the API (its mapping invokes its live alias, version 1)
    with PartnerServer(lambda request: Reply(status=200)) as server:
        created = requests.post(
            f"{stack.api_url}/partners", json={"partner_id": "moved", "url": server.url}, timeout=30
        )
        assert created.status_code == 201, created.text
        # WHEN a new handler artifact is stored and update-code is posted for the partner
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as archive:
            archive.writestr("app.py", "# a new build\n")
        upload_artifact(package.getvalue(), naming.artifact_bucket(stack.options.stage), Clients())
        started = requests.post(f"{stack.api_url}/update-code", json={"partner_ids": ["moved"]}, timeout=30)
        assert started.status_code == 202, started.text
        rollout_url = f"{stack.api_url}/rollouts/{started.json()['rollout_id']}"
        # THEN the stack's rollout worker (the local Lambda runtime on the work queue) finishes it
        wait_for(lambda: requests.get(rollout_url, timeout=10).json()["status"] == "done", 40.0, 0.2)
        done = requests.get(rollout_url, timeout=10).json()
        assert (done["succeeded"], done["failed"], done["results"][0]["version"]) == (1, 0, 2)
        # AND an event published now is delivered through the moved alias
        published = requests.post(
            f"{stack.api_url}/partners/moved/events", json={"topic": "t", "payload": {}}, timeout=10
        )
        assert published.status_code == 202, published.text
        webhook_id = published.json()["webhook_id"]
        wait_for(
            lambda: webhook_id in {r.headers["webhook-id"] for r in server.requests_snapshot()}, 40.0, 0.2
        )
