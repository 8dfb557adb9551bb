"""The handler on its default AWS clients (the lean wire, hookrelay.aws.wire) against moto's server.

Under ``mock_aws`` the core uses botocore (the fixture's switch); here nothing is injected and nothing
is mocked: the handler reads its signing keys, publishes its attempt records and settles its records
through the lean caller, over HTTP, to a moto server on loopback, as it would to AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from hookrelay.aws import wire
from hookrelay.aws.sqs import ORIGIN_ATTRIBUTE, REASON_ATTRIBUTE
from hookrelay.delivery.batch import handle_batch
from hookrelay.delivery.deps import build_deps
from hookrelay.signing import standard as signing
from hookrelay_local.embedded_aws import queue_messages
from hookrelay_local.partner_server import PartnerServer, Reply, always
from tests.support.handler_stack import NOW, PartnerStack, build_partner_stack
from tests.support.sqs import drain, sqs_event

REGION = "us-east-1"


@pytest.fixture
def lean_stack(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, partner_server: Callable[..., PartnerServer]
) -> Callable[..., tuple[PartnerStack, PartnerServer, Any]]:
    """(a partner's resources on moto's server, its partner server, a boto3 SQS client to look with);
    the stack's deps are rebuilt with no client given, so they are the lean ones."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.delenv(wire.MODE_VARIABLE, raising=False)
    wire.reset_clients()
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_url)
    secrets = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_url)

    def make(reply: Reply, partner_id: str) -> tuple[PartnerStack, PartnerServer, Any]:
        server = partner_server(always(reply))
        stack = build_partner_stack(sqs, secrets, server.url, partner_id=partner_id)
        stack.deps = build_deps(stack.settings)
        stack.deps.clock = lambda: stack.clock_now[0]
        return stack, server, sqs

    return make


def test_a_delivered_batch_is_signed_with_the_keys_read_and_recorded_through_the_lean_wire(
    lean_stack: Any,
) -> None:
    # GIVEN a partner answering 200, and the handler's default clients
    stack, server, sqs = lean_stack(Reply(200), "lean-ok")
    assert isinstance(stack.deps.sqs, wire.SqsWire)
    assert isinstance(stack.deps.keys.client, wire.SecretsWire)
    messages = [stack.message() for _ in range(3)]

    # WHEN the handler gets a batch of three
    response = handle_batch(sqs_event([m.to_sqs_body() for m in messages]), stack.deps)

    # THEN each arrived signed with the partner's secret, read from Secrets Manager
    assert response == {"batchItemFailures": []}
    assert sorted(r.headers["webhook-id"] for r in server.received) == sorted(m.id for m in messages)
    for received in server.received:
        signing.verify(stack.secret, received.headers, received.body, now=NOW.timestamp())
    # AND the three attempt records are the handler's marked log lines; nothing went to the results queue
    records = stack.results()
    assert sorted(r["webhook_id"] for r in records) == sorted(m.id for m in messages)
    assert {r["outcome"] for r in records} == {"delivered"}
    assert drain(sqs, stack.results_url) == []


def test_a_retry_and_a_dead_letter_are_sent_through_the_lean_wire(lean_stack: Any) -> None:
    # GIVEN a partner answering 503, and the handler's default clients
    stack, _server, _sqs = lean_stack(Reply(503), "lean-retry")
    message = stack.message()

    # WHEN the handler gets that message and a body that is no message at all
    response = handle_batch(sqs_event([message.to_sqs_body(), "not json"]), stack.deps)

    # THEN the message is back on the partner queue (delayed) for its next attempt
    assert response == {"batchItemFailures": []}
    (again,) = queue_messages(stack.queue_url)
    assert json.loads(again["body"])["delivery"]["attempt"] == 1
    # AND the poison body is on the dead-letter queue, with why and where from
    (parked,) = queue_messages(stack.dlq_url)
    assert parked["body"] == "not json"
    assert parked["attributes"][ORIGIN_ATTRIBUTE] == stack.queue_url
    assert parked["attributes"][REASON_ATTRIBUTE]
