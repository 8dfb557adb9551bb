"""The handler with a paced partner: moto SQS/DynamoDB and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from hookrelay import naming
from hookrelay.delivery.batch import handle_batch
from hookrelay.models import WebhookMessage
from hookrelay.partners.pace_store import PaceStore
from tests.support.handler_stack import build_partner_stack
from tests.support.sqs import sqs_event


@pytest.fixture
def dynamodb(moto_aws: None) -> Any:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=naming.partners_table("dev"),
        KeySchema=[{"AttributeName": "partner_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "partner_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=naming.partners_table("dev"), Item={"partner_id": {"S": "acme"}})
    return client


def test_records_beyond_the_batchs_budget_go_back_unattempted(
    sqs: Any, secretsmanager: Any, dynamodb: Any, partner_server: Any
) -> None:
    # GIVEN a partner paced at 2/s whose batch may wait 1 s for its slots; the pacer's clock, and the
    # handler's, move only when it sleeps (really), so a busy test machine cannot make it miss a slot nor
    # shrink the delay the deferred records are sent back with
    server = partner_server()
    stack = build_partner_stack(sqs, secretsmanager, server.url, max_requests_per_second=2)
    pacer = stack.deps.pacer
    assert pacer is not None
    start, slept = time.time(), [0.0]

    def sleep(seconds: float) -> None:
        time.sleep(seconds)
        slept[0] += seconds

    pacer.budget, pacer.clock, pacer.sleep = 1.0, lambda: start + slept[0], sleep
    stack.deps.clock = lambda: datetime.fromtimestamp(start + slept[0], UTC)
    messages = [stack.message(payload={"n": i}) for i in range(4)]
    # WHEN a batch of 4 is handled
    response = handle_batch(sqs_event([m.to_sqs_body() for m in messages]), stack.deps)
    # THEN two were sent, at least 0.55 s apart; the other two went back to the queue unchanged, delayed,
    # with no attempt made or recorded: nothing lost, nothing counted as a failure
    assert response == {"batchItemFailures": []}
    received = server.requests_snapshot()
    assert [r.headers["webhook-id"] for r in received] == [messages[0].id, messages[1].id]
    assert received[1].at - received[0].at >= 0.5
    resent = [
        (WebhookMessage.model_validate_json(k["MessageBody"]), k["DelaySeconds"])
        for k in stack.sqs.sends_to(stack.queue_url)
    ]
    resent.sort(key=lambda sent: sent[0].payload["n"])  # records are settled concurrently: any order
    assert [(m, m.delivery.attempt) for m, _ in resent] == [(messages[2], 0), (messages[3], 0)]
    assert all(delay >= 1 for _, delay in resent)
    assert [r["webhook_id"] for r in stack.results()] == [messages[0].id, messages[1].id]
    # AND the shared schedule moved past the two slots taken
    state = PaceStore(naming.partners_table("dev"), "acme", dynamodb).read()
    assert state.next_free == pytest.approx(start + 1.1, abs=0.01)


def test_an_unpaced_partner_has_no_pacer_and_makes_no_dynamodb_call(
    sqs: Any, secretsmanager: Any, partner_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a partner without a rate, and a DynamoDB that fails every call
    server = partner_server()
    stack = build_partner_stack(sqs, secretsmanager, server.url)

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("an unpaced partner called DynamoDB")

    monkeypatch.setattr("hookrelay.partners.pace_store.PaceStore.read", refuse)
    # WHEN it delivers a batch
    response = handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    # THEN it has no pacer, and delivered without one
    assert stack.deps.pacer is None
    assert response == {"batchItemFailures": []}
    assert len(server.requests_snapshot()) == 1
