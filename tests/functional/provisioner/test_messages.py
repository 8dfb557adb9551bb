"""The message store (issue 14 item 4), GET a webhook with its attempts, and resend (item 5), on moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog, record_attempts
from hookrelay.aws.clients import Clients
from hookrelay.errors import DependencyUnavailable, NotFound
from hookrelay.models import AttemptRecord, DeliveryState, Outcome, WebhookMessage
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.messages.store import Expired, MessageStore
from tests.support.sqs import sqs_event

from .conftest import STAGE, URL, aws

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def message(n: int = 1, partner_id: str = "acme", at: datetime = T0, **payload: Any) -> WebhookMessage:
    return WebhookMessage(
        id=f"msg_{n}", partner_id=partner_id, topic="invoice.paid", payload=payload or {"n": n}, created_at=at
    )


def store_at(ctx: Provisioner, now: datetime, **options: Any) -> MessageStore:
    return MessageStore(STAGE, ctx.clients, bucket=ctx.settings.bucket, clock=lambda: now, **options)


def call(http: Any, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body)
    send = getattr(http.http, method.lower())
    response = send(path, headers={"Content-Type": "application/json"}, body=data)
    return response.status_code, json.loads(response.body)


def partner_queue(partner_id: str = "acme") -> list[WebhookMessage]:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=naming.partner_queue(STAGE, partner_id))["QueueUrl"]
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [WebhookMessage.model_validate_json(m["Body"]) for m in found]


def attempt(n: int, outcome: Outcome, status: int, webhook_id: str = "msg_1") -> AttemptRecord:
    return AttemptRecord(
        webhook_id=webhook_id, partner_id="acme", attempt=n, url=URL, at=T0 + timedelta(minutes=n),
        outcome=outcome, status_code=status, duration_ms=10 * n, response_excerpt=f"answer {n}",
    )  # fmt: skip


def test_a_kept_message_reads_back_as_its_envelope_without_delivery_state(ctx: Provisioner) -> None:
    # GIVEN a message two attempts into its schedule
    sent = message(1, amount=12).with_delivery(DeliveryState(attempt=2))
    store = store_at(ctx, T0)
    # WHEN it is kept and read back
    store.keep([sent])
    kept = store.get("acme", "msg_1")
    # THEN the envelope is the same, with no delivery state, expiring 30 days after creation
    assert kept.message == sent.with_delivery(DeliveryState())
    assert kept.expires_at == T0 + timedelta(days=30)
    assert kept.delivered_at is None
    # AND the item holds no signature or secret field: only the envelope and the store's own keys
    item = aws("dynamodb").scan(TableName=naming.messages_table(STAGE))["Items"][0]
    assert set(item) == {"partner_id", "webhook_id", "created", "expires_at", "doc"}
    doc = json.loads(item["doc"]["S"])
    assert set(doc) == {"version", "id", "partner_id", "topic", "payload", "created_at"}


def test_keep_writes_in_batches_of_25_and_retries_unprocessed_items(ctx: Provisioner) -> None:
    # GIVEN a DynamoDB that leaves the last item of its first batch unprocessed
    real = aws("dynamodb")
    calls: list[int] = []

    class Throttling:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            (table, requests), *_ = RequestItems.items()
            calls.append(len(requests))
            if len(calls) == 1:
                real.batch_write_item(RequestItems={table: requests[:-1]})
                return {"UnprocessedItems": {table: requests[-1:]}}
            return dict(real.batch_write_item(RequestItems=RequestItems))

    store = store_at(ctx, T0)
    store.clients = Clients(overrides={**ctx.clients.overrides, "dynamodb": Throttling()}, sleep=[].append)
    # WHEN 30 messages are kept
    store.keep([message(n) for n in range(30)])
    # THEN 25 went in the first request, the unprocessed one alone again, then the other 5; all 30 are kept
    assert calls == [25, 1, 5]
    assert aws("dynamodb").scan(TableName=naming.messages_table(STAGE), Select="COUNT")["Count"] == 30


def test_keep_fails_when_dynamodb_never_processes_the_items(ctx: Provisioner) -> None:
    # GIVEN a DynamoDB that processes nothing
    real = aws("dynamodb")

    class Refusing:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            return {"UnprocessedItems": RequestItems}

    store = store_at(ctx, T0)
    store.clients = Clients(overrides={**ctx.clients.overrides, "dynamodb": Refusing()}, sleep=[].append)
    # WHEN a message is kept, THEN it fails as a dependency failure (the publisher does not send it)
    with pytest.raises(DependencyUnavailable, match="1 webhooks not kept"):
        store.keep([message()])


def test_an_envelope_too_big_for_an_item_goes_to_s3_and_reads_back(ctx: Provisioner) -> None:
    # GIVEN a store that keeps envelopes over 2,000 bytes in S3
    store = store_at(ctx, T0, inline_bytes=2000)
    big = message(1, blob="x" * 5000)
    # WHEN it is kept
    store.keep([big])
    # THEN the item points at S3 and holds no body, and it reads back whole
    item = aws("dynamodb").scan(TableName=naming.messages_table(STAGE))["Items"][0]
    assert "doc" not in item
    assert item["body_key"]["S"] == "messages/acme/msg_1.json"
    assert store.get("acme", "msg_1").message == big
    # AND once the body is gone from S3, the webhook is expired (410), not a server error
    aws("s3").delete_object(Bucket=ctx.settings.bucket, Key="messages/acme/msg_1.json")
    with pytest.raises(Expired, match="body"):
        store.get("acme", "msg_1")


def test_a_message_past_its_retention_is_expired_before_ttl_deletes_it(ctx: Provisioner) -> None:
    # GIVEN a message kept 30 days ago (DynamoDB's TTL deletes late: up to days after)
    store_at(ctx, T0).keep([message()])
    # WHEN it is read 30 days later, THEN it is expired (410); an unknown id is not found (404)
    later = store_at(ctx, T0 + timedelta(days=30))
    with pytest.raises(Expired):
        later.get("acme", "msg_1")
    with pytest.raises(NotFound) as unknown:
        later.get("acme", "msg_2")
    assert unknown.value.status_code == 404


def test_publish_keeps_the_message_before_it_is_sent(http: Any, ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner
    make_partner("acme")
    # WHEN an event is published to it
    event = {"topic": "invoice.paid", "payload": {}, "id": "order-7"}
    status, _ = call(http, "POST", "/partners/acme/events", event)
    assert status == 202
    # THEN the message on the queue is the one kept
    (queued,) = partner_queue()
    assert ctx.messages.get("acme", "order-7").message == queued
    assert queued.id == "order-7"


def test_publish_sends_nothing_when_the_message_cannot_be_kept(http: Any, make_partner: Any) -> None:
    # GIVEN a partner, and the message store's table gone
    make_partner("acme")
    aws("dynamodb").delete_table(TableName=naming.messages_table(STAGE))
    # WHEN an event is published
    status, body = call(http, "POST", "/partners/acme/events", {"topic": "invoice.paid", "payload": {}})
    # THEN it fails with a JSON error and nothing was sent (a message sent but not kept could never be resent)
    assert status >= 500
    assert body["error"]
    assert partner_queue() == []


def test_get_webhook_shows_the_message_and_every_attempt(
    http: Any, ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a kept webhook whose first attempt failed with a 500 and whose second delivered it
    make_partner("acme")
    ctx.clock = lambda: T0 + timedelta(hours=1)
    ctx.messages.keep([message(1, amount=12)])
    log = AttemptLog(STAGE, clients=ctx.clients)
    first, second = attempt(1, Outcome.RETRY_SCHEDULED, 500), attempt(2, Outcome.DELIVERED, 204)
    other = attempt(1, Outcome.DELIVERED, 200, webhook_id="msg_10")  # an id sharing a prefix
    record_attempts(sqs_event([r.model_dump_json() for r in (first, second, other)]), log)
    # WHEN it is read
    status, body = call(http, "GET", "/partners/acme/webhooks/msg_1")
    # THEN it shows the envelope, delivered, and both attempts in order: status, duration, excerpt, outcome
    assert status == 200
    assert (body["webhook_id"], body["topic"], body["payload"], body["delivered"]) == (
        "msg_1", "invoice.paid", {"amount": 12}, True,
    )  # fmt: skip
    fields = ("attempt", "status_code", "duration_ms", "response_excerpt", "outcome")
    seen = [tuple(a[f] for f in fields) for a in body["attempts"]]
    assert seen == [(1, 500, 10, "answer 1", "retry_scheduled"), (2, 204, 20, "answer 2", "delivered")]


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/partners/acme/webhooks/msg_9", 404, "not_found"),
        ("/partners/nobody/webhooks/msg_1", 404, "not_found"),
        ("/partners/acme/webhooks/bad%23id", 400, "invalid_input"),
    ],
)
def test_get_webhook_refuses_unknown_and_malformed_ids(
    http: Any, make_partner: Any, path: str, status: int, error: str
) -> None:
    # GIVEN a partner with no such webhook kept, WHEN it is read, THEN a JSON error with a message
    make_partner("acme")
    answer = call(http, "GET", path)
    assert (answer[0], answer[1]["error"]) == (status, error)
    assert answer[1]["message"]


def test_resend_enqueues_the_same_webhook_id_with_a_fresh_attempt_count(
    http: Any, ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a kept webhook that already went through three attempts
    make_partner("acme")
    ctx.clock = lambda: T0 + timedelta(days=1)
    ctx.messages.keep([message(1, amount=12).with_delivery(DeliveryState(attempt=3))])
    # WHEN it is resent
    status, body = call(http, "POST", "/partners/acme/webhooks/msg_1/resend")
    # THEN 202, and the partner queue holds the same id and envelope, at attempt 0 (its next attempt is 1)
    assert (status, body["webhook_id"]) == (202, "msg_1")
    (queued,) = partner_queue()
    assert (queued.id, queued.payload, queued.created_at, queued.delivery) == (
        "msg_1", {"amount": 12}, T0, DeliveryState(),
    )  # fmt: skip


def test_resend_of_an_unknown_webhook_is_404_and_of_an_expired_one_410(
    http: Any, ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a webhook kept 31 days ago
    make_partner("acme")
    ctx.messages.keep([message(1)])
    ctx.clock = lambda: T0 + timedelta(days=31)
    # WHEN it, and an id never kept, are resent
    expired = call(http, "POST", "/partners/acme/webhooks/msg_1/resend")
    unknown = call(http, "POST", "/partners/acme/webhooks/msg_2/resend")
    # THEN 410 expired and 404 not found, each with a message, and nothing is sent
    assert (expired[0], expired[1]["error"]) == (410, "expired")
    assert (unknown[0], unknown[1]["error"]) == (404, "not_found")
    assert partner_queue() == []


def test_resend_and_get_webhook_are_lambda_functions_too(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a kept webhook
    from hookrelay.provisioning.api import Api

    make_partner("acme")
    ctx.clock = lambda: T0 + timedelta(hours=1)
    ctx.messages.keep([message(1)])
    api = Api(ctx)
    # WHEN the per-operation functions are invoked with the path parameters in the event
    shown = api.invoke("get_webhook", {"partner_id": "acme", "webhook_id": "msg_1"})
    resent = api.invoke("resend", {"partner_id": "acme", "webhook_id": "msg_1"})
    missing = api.invoke("resend", {"partner_id": "acme", "webhook_id": "msg_2"})
    # THEN they answer as the REST routes do
    assert (shown["webhook_id"], shown["attempts"]) == ("msg_1", [])
    assert resent["webhook_id"] == "msg_1"
    assert missing["status"] == 404


def test_openapi_names_the_webhook_path_parameter_and_the_410(http: Any) -> None:
    # WHEN the OpenAPI document is fetched
    _, document = call(http, "GET", "/openapi.json")
    # THEN GET webhook takes the partner id and the webhook id in its path, and may answer 410
    get = document["paths"]["/partners/{id}/webhooks/{webhook_id}"]["get"]
    assert [(p["name"], p["in"]) for p in get["parameters"]] == [("id", "path"), ("webhook_id", "path")]
    assert "410" in get["responses"]
    # AND replay documents its request
    replay = document["paths"]["/partners/{id}/replay"]["post"]
    assert replay["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReplayRequest")


def test_a_deliveries_table_made_before_the_store_gets_its_by_webhook_index(moto_aws: None) -> None:
    # GIVEN a stage whose deliveries table was made without the index (before the message store)
    from hookrelay.attempts.log import BY_WEBHOOK
    from hookrelay.provisioning.resources.message_tables import ensure_message_resources

    dynamodb = aws("dynamodb")
    table = naming.deliveries_table(STAGE)
    dynamodb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "partner_id", "KeyType": "HASH"},
            {"AttributeName": "sort_key", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("partner_id", "sort_key")],
        BillingMode="PAY_PER_REQUEST",
    )
    clients = Clients(overrides={"dynamodb": dynamodb, "sqs": aws("sqs")})
    # WHEN the message store's resources are ensured, twice
    ensure_message_resources(STAGE, clients)
    ensure_message_resources(STAGE, clients)
    # THEN the deliveries table has the index once, and the store's tables exist
    indexes = dynamodb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == [BY_WEBHOOK]
    for name in (naming.messages_table(STAGE), naming.replays_table(STAGE)):
        assert dynamodb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"


def test_a_delivered_attempt_of_a_webhook_never_kept_creates_no_message(ctx: Provisioner) -> None:
    # GIVEN no message kept, WHEN a delivered attempt of some webhook is recorded
    log = AttemptLog(STAGE, clients=ctx.clients)
    assert record_attempts(sqs_event([attempt(1, Outcome.DELIVERED, 200).model_dump_json()]), log) == {
        "batchItemFailures": []
    }
    # THEN the store stays empty (the delivered stamp only marks kept messages)
    assert aws("dynamodb").scan(TableName=naming.messages_table(STAGE), Select="COUNT")["Count"] == 0


def test_the_retention_is_read_from_hookrelay_messages_ttl_days(
    ctx: Provisioner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN HOOKRELAY_MESSAGES_TTL_DAYS=7 in the environment
    from hookrelay.provisioning.settings import ProvisionerSettings

    monkeypatch.setenv("HOOKRELAY_MESSAGES_TTL_DAYS", "7")
    ctx.settings = ProvisionerSettings(stage=STAGE)
    ctx.clock = lambda: T0
    # WHEN a message is kept through the provisioner's store, THEN it expires 7 days after creation
    ctx.messages.keep([message()])
    assert ctx.messages.get("acme", "msg_1").expires_at == T0 + timedelta(days=7)
