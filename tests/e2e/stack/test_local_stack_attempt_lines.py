"""`make run`'s stack, issue 15: a handler's attempt records travel as its log lines, through its log
group's subscription filter, to the stage's attempt recorder (the local runtime plays CloudWatch Logs);
what the recorder cannot write waits in the results DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from hookrelay import naming
from hookrelay.attempts import lines
from hookrelay.attempts.log import AttemptLog
from hookrelay.aws.clients import Clients
from hookrelay.aws.sqs import lookup_queue_url
from hookrelay.provisioning.resources.attempt_filter import recorder_function
from hookrelay_local.partner_server import PartnerServer, Reply
from hookrelay_local.stack import LocalStack, StackOptions
from tests.support.lambda_runtime import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(aws_port=0, api_port=0, receiver_port=0, stage="lines")
    with LocalStack(options) as running:
        yield running


def publish(stack: LocalStack, partner_id: str) -> str:
    answer = requests.post(
        f"{stack.api_url}/partners/{partner_id}/events", json={"topic": "t", "payload": {}}, timeout=10
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["webhook_id"])


def test_an_attempt_reaches_the_deliveries_table_through_the_log_subscription(stack: LocalStack) -> None:
    # GIVEN a partner created over the API: its log group is subscribed to the stage's recorder
    with PartnerServer(lambda request: Reply(status=200)) as server:
        created = requests.post(
            f"{stack.api_url}/partners", json={"partner_id": "acme", "url": server.url}, timeout=30
        )
        assert created.status_code == 201, created.text
        group = naming.partner_log_group("lines", "acme")
        (subscription,) = stack.client("logs").describe_subscription_filters(logGroupName=group)[
            "subscriptionFilters"
        ]
        recorder = stack.client("lambda").get_function(FunctionName=recorder_function("lines"))
        assert subscription["destinationArn"] == recorder["Configuration"]["FunctionArn"]
        assert subscription["filterPattern"] == lines.FILTER_PATTERN
        # WHEN an event is published and delivered
        webhook_id = publish(stack, "acme")

        # THEN its attempt is in the attempt log (the handler sent nothing to the results queue: its line
        # went through the subscription to the recorder)
        def delivered() -> list[dict[str, Any]]:
            items = requests.get(f"{stack.api_url}/partners/acme/deliveries", timeout=10).json()["items"]
            return [i for i in items if i["webhook_id"] == webhook_id and i["outcome"] == "delivered"]

        wait_for(lambda: bool(delivered()), 30.0, 0.1)
        assert delivered()[0]["status_code"] == 200
    assert stack.runtime is not None
    assert stack.runtime.subscriptions is not None
    assert stack.runtime.subscriptions.counters.lines >= 1
    # AND the local runtime delivered it itself: nothing was written to moto's log group (moto delivers a
    # subscription only on PutLogEvents, by invoking the function with Docker)
    group = naming.partner_log_group("lines", "acme")
    assert stack.client("logs").describe_log_streams(logGroupName=group)["logStreams"] == []


def test_lines_the_recorder_cannot_write_wait_in_the_results_dlq(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a partner, and the recorder's deliveries table refusing every write
    class Refusing:
        def __init__(self, real: Any) -> None:
            self.real = real

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        def put_item(self, **_: Any) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, "PutItem")

    clients = Clients()
    refusing = AttemptLog("lines", clients=Clients(overrides={"dynamodb": Refusing(clients.dynamodb)}))
    monkeypatch.setattr(stack.modules["provisioner"], "attempt_log", lambda: refusing)
    with PartnerServer(lambda request: Reply(status=200)) as server:
        created = requests.post(
            f"{stack.api_url}/partners", json={"partner_id": "globex", "url": server.url}, timeout=30
        )
        assert created.status_code == 201, created.text
        # WHEN an event is published and delivered
        webhook_id = publish(stack, "globex")
        wait_for(lambda: bool(server.requests_snapshot()), 30.0, 0.1)
        # THEN after the recorder's retries, Lambda's record of the failed invocation, with the lines,
        # is in the results DLQ (watched by its alarm)
        sqs = stack.client("sqs")
        dlq = lookup_queue_url(naming.results_dead_letter_queue("lines"), sqs)
        received: list[dict[str, Any]] = []

        def dead_lettered() -> bool:
            received.extend(sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", []))
            return bool(received)

        wait_for(dead_lettered, 30.0, 0.1)
    body = json.loads(received[0]["Body"])
    assert body["requestContext"]["condition"] == "RetriesExhausted"
    assert body["responsePayload"]["errorType"] == "AttemptsNotRecorded"
    kept = lines.decode(body["requestPayload"])
    assert kept.log_group == naming.partner_log_group("lines", "globex")
    assert [json.loads(e.message)["webhook_id"] for e in kept.log_events] == [webhook_id]
