"""The message store on `make run`'s stack: GET a webhook shows its real attempts; resend and replay are
delivered by the real handler (replay through the local runtime's replay worker)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from hookrelay_local.partner_server import PartnerServer, Received, Reply
from hookrelay_local.stack import LocalStack, StackOptions
from tests.support.lambda_runtime import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(aws_port=0, api_port=0, receiver_port=0, stage="e2emsg")
    with LocalStack(options) as running:
        yield running


class FailsFirstAttempt:
    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        with self.lock:
            self.seen[request.headers["webhook-id"]] += 1
            first = self.seen[request.headers["webhook-id"]] == 1
        return Reply(status=500 if first else 200, body=b"nope" if first else b"thanks")


def test_get_shows_real_attempts_and_resend_and_replay_deliver_the_same_ids(stack: LocalStack) -> None:
    api = stack.api_url
    behaviour = FailsFirstAttempt()
    with PartnerServer(behaviour) as server:
        # GIVEN a partner that fails each first attempt, and two webhooks published to it
        retry = {"schedule_seconds": [1], "jitter": 0}
        body = {"partner_id": "flaky", "url": server.url, "retry_policy": retry}
        assert requests.post(f"{api}/partners", json=body, timeout=30).status_code == 201
        since = datetime.now(UTC) - timedelta(seconds=1)
        ids = [
            requests.post(
                f"{api}/partners/flaky/events", json={"topic": "t", "payload": {"n": n}}, timeout=10
            ).json()["webhook_id"]
            for n in range(2)
        ]
        wait_for(lambda: all(behaviour.seen[i] == 2 for i in ids), 40.0, 0.2)

        # WHEN the first is read, THEN it shows both attempts: a 500 retried, then a 200 delivered
        def attempts() -> list[dict[str, Any]]:
            shown = requests.get(f"{api}/partners/flaky/webhooks/{ids[0]}", timeout=10).json()
            return list(shown["attempts"])

        wait_for(lambda: len(attempts()) == 2, 40.0, 0.2)
        seen = [(a["attempt"], a["status_code"], a["outcome"], a["response_excerpt"]) for a in attempts()]
        assert seen == [(1, 500, "retry_scheduled", "nope"), (2, 200, "delivered", "thanks")]
        # WHEN it is resent, THEN the partner gets it a third time, same webhook-id
        resent = requests.post(f"{api}/partners/flaky/webhooks/{ids[0]}/resend", timeout=10)
        assert resent.status_code == 202
        wait_for(lambda: behaviour.seen[ids[0]] == 3, 40.0, 0.2)
        # WHEN the window is replayed, THEN the worker of the local runtime sends both again
        window = {"since": since.isoformat(), "until": datetime.now(UTC).isoformat()}
        replay = requests.post(f"{api}/partners/flaky/replay", json=window, timeout=10).json()
        assert replay["matched"] == 2
        wait_for(lambda: behaviour.seen[ids[0]] == 4 and behaviour.seen[ids[1]] == 3, 40.0, 0.2)
        progress = requests.get(f"{api}/partners/flaky/replays/{replay['replay_id']}", timeout=10).json()
        assert (progress["enqueued"], progress["state"]) == (2, "done")
