"""The handler on a FIFO partner queue (moto), as Lambda would call it: a group stops at its first
failure, other groups go on; the last attempt dead-letters to the FIFO DLQ, or blocks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from hookrelay.aws.sqs import REASON_ATTRIBUTE
from hookrelay.delivery.batch import handle_batch
from hookrelay.delivery.deps import build_deps
from hookrelay.models import WebhookMessage
from hookrelay.partners.ordering import fifo_send_params
from hookrelay.retry import RetryPolicy
from hookrelay.settings import HandlerSettings
from hookrelay.signing import standard as signing
from hookrelay.signing.keys import SigningKey, SigningKeys
from hookrelay_local.lambda_runtime.events import sqs_event
from hookrelay_local.partner_server import PartnerServer, Received, Reply

FIFO = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}


class Ordered:
    """One ordered partner's FIFO queues on moto, and its handler's settings."""

    def __init__(self, sqs: Any, secretsmanager: Any, url: str, **settings: Any) -> None:
        self.sqs = sqs
        self.queue_url = sqs.create_queue(QueueName="hookrelay-test-acme.fifo", Attributes=FIFO)["QueueUrl"]
        self.dlq_url = sqs.create_queue(QueueName="hookrelay-test-acme-dlq.fifo", Attributes=FIFO)["QueueUrl"]
        keys = SigningKeys(keys=[SigningKey(secret=signing.generate_secret())])
        secretsmanager.create_secret(Name="hookrelay/test/acme/signing", SecretString=keys.to_secret_string())
        self.settings = HandlerSettings(
            partner_id="acme",
            partner_url=url,
            queue_url=self.queue_url,
            dead_letter_queue_url=self.dlq_url,
            secret_id="hookrelay/test/acme/signing",
            allowed_networks=("loopback",),
            read_timeout=2.0,
            max_receive_count=1000,
            **settings,
        )
        self.deps = build_deps(self.settings, sqs=sqs, secretsmanager=secretsmanager)

    def publish(self, webhook_id: str, key: str) -> None:
        message = WebhookMessage(id=webhook_id, partner_id="acme", topic="t", payload={})
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=message.to_sqs_body(),
            **fifo_send_params("fifo", webhook_id, key),
        )

    def batch(self) -> dict[str, Any]:
        """What Lambda's poller would hand the function now (one receive), with real receipt handles."""
        got = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return sqs_event(got.get("Messages", []), "arn:aws:sqs:us-east-1:123456789012:acme.fifo", "us-east-1")

    def counts(self, url: str) -> tuple[int, int]:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return int(found[names[0]]), int(found[names[1]])


def webhook_of(event: dict[str, Any], message_id: str) -> str:
    record = next(r for r in event["Records"] if r["messageId"] == message_id)
    return str(json.loads(record["body"])["id"])


def failed(event: dict[str, Any], response: dict[str, Any]) -> list[str]:
    return [webhook_of(event, f["itemIdentifier"]) for f in response["batchItemFailures"]]


@pytest.fixture
def ordered(
    sqs: Any, secretsmanager: Any, partner_server: Any
) -> Callable[..., tuple[Ordered, PartnerServer]]:
    def make(refuse: set[str], **settings: Any) -> tuple[Ordered, PartnerServer]:
        def answer(request: Received) -> Reply:
            return Reply(status=500) if request.headers["webhook-id"] in refuse else Reply()

        server = partner_server(answer)
        return Ordered(sqs, secretsmanager, server.url, **settings), server

    return make


def posted(server: PartnerServer) -> list[str]:
    return [r.headers["webhook-id"] for r in server.requests_snapshot()]


def test_a_group_stops_at_its_first_failure_and_other_groups_go_on(ordered: Any) -> None:
    # GIVEN group A: a0, a1 (its endpoint answers 500), a2; group B: b0, b1; retries a minute apart
    stack, server = ordered({"a1"}, retry_policy=RetryPolicy(schedule_seconds=(60,), jitter=0))
    for webhook_id, key in [("a0", "A"), ("b0", "B"), ("a1", "A"), ("b1", "B"), ("a2", "A")]:
        stack.publish(webhook_id, key)
    event = stack.batch()
    # WHEN the handler gets the batch
    response = handle_batch(event, stack.deps)
    # THEN a1 and every later record of A are reported failed; B went on
    assert failed(event, response) == ["a1", "a2"]
    # AND a2 was never attempted; a0, a1, b0, b1 were, each group in order
    assert [w for w in posted(server) if w.startswith("a")] == ["a0", "a1"]
    assert [w for w in posted(server) if w.startswith("b")] == ["b0", "b1"]
    # AND (Lambda deletes what succeeded) a1 is hidden for its retry, a2 is visible again, but SQS hands
    # out nothing of group A while a1 waits: the group is stopped, in order
    done = {r["messageId"] for r in event["Records"]} - {
        f["itemIdentifier"] for f in response["batchItemFailures"]
    }
    for record in event["Records"]:
        if record["messageId"] in done:
            stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=record["receiptHandle"])
    assert stack.counts(stack.queue_url) == (1, 1)
    assert stack.batch()["Records"] == []
    # AND nothing was re-sent or dead-lettered
    assert stack.counts(stack.dlq_url) == (0, 0)


def test_after_the_last_attempt_the_message_is_dead_lettered_in_its_group_and_the_group_moves_on(
    ordered: Any,
) -> None:
    # GIVEN no retries at all, and group A: a0 (refused), a1
    stack, server = ordered({"a0"}, retry_policy=RetryPolicy(schedule_seconds=(), jitter=0))
    stack.publish("a0", "A")
    stack.publish("a1", "A")
    event = stack.batch()
    # WHEN the handler gets the batch
    response = handle_batch(event, stack.deps)
    # THEN nothing failed: a0 went to the FIFO DLQ, with its reason, in its group; a1 was delivered after it
    assert failed(event, response) == []
    assert posted(server) == ["a0", "a1"]
    [parked] = stack.sqs.receive_message(
        QueueUrl=stack.dlq_url, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    assert json.loads(parked["Body"])["id"] == "a0"
    assert parked["Attributes"]["MessageGroupId"] == "A"
    reason = parked["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"]
    assert reason.startswith("retries exhausted after 1 attempts")


def test_block_on_failure_keeps_the_group_stopped_instead(ordered: Any) -> None:
    # GIVEN a blocking partner with no retries left after the first attempt, and group A: a0 (refused), a1
    stack, server = ordered(
        {"a0"}, retry_policy=RetryPolicy(schedule_seconds=(), jitter=0), block_on_failure=True
    )
    stack.publish("a0", "A")
    stack.publish("a1", "A")
    event = stack.batch()
    # WHEN the handler gets the batch
    response = handle_batch(event, stack.deps)
    # THEN a0 stays (held for the next try) and so does a1, unattempted; nothing was dead-lettered
    assert failed(event, response) == ["a0", "a1"]
    assert posted(server) == ["a0"]
    assert stack.counts(stack.dlq_url) == (0, 0)


def test_a_poison_body_is_dead_lettered_and_its_group_goes_on(ordered: Any) -> None:
    stack, server = ordered(set())
    stack.sqs.send_message(
        QueueUrl=stack.queue_url, MessageBody="not json", MessageGroupId="A", MessageDeduplicationId="x"
    )
    stack.publish("a1", "A")
    event = stack.batch()
    # WHEN the handler gets the poison record and the webhook behind it
    response = handle_batch(event, stack.deps)
    # THEN the poison record is parked on the FIFO DLQ, and the webhook behind it is delivered
    assert response["batchItemFailures"] == []
    assert posted(server) == ["a1"]
    assert stack.counts(stack.dlq_url) == (1, 0)
