"""publish, the attempt log (results queue -> deliveries table), and status (moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog, list_deliveries, record_attempts
from hookrelay.aws.clients import Clients
from hookrelay.errors import InvalidInput
from hookrelay.models import AttemptRecord, Outcome, WebhookMessage
from hookrelay.partners.table import PartnerRepository
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.publish import EventPublisher, PublishRequest
from hookrelay.provisioning.status import partner_status
from tests.support.sqs import sqs_event

from .conftest import STAGE, URL, Failing, aws

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def attempt(n: int, outcome: Outcome = Outcome.DELIVERED, partner_id: str = "acme") -> AttemptRecord:
    return AttemptRecord(
        webhook_id=f"msg_{n}", partner_id=partner_id, attempt=1, url=URL, at=T0 + timedelta(minutes=n),
        outcome=outcome, status_code=200,
    )  # fmt: skip


def test_publish_enqueues_a_webhook_message_with_the_callers_id(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner accepting invoice.* events
    make_partner("acme", event_types=["invoice.*"])
    # WHEN an invoice.paid event is published with an idempotency key, by a publisher holding only the
    # partners table and an SQS client (no provisioning context)
    partners = PartnerRepository(
        naming.partners_table(STAGE), Clients(overrides={"dynamodb": aws("dynamodb")})
    )
    publisher = EventPublisher(STAGE, partners, aws("sqs"))
    published = publisher.publish(
        "acme", PublishRequest(topic="invoice.paid", payload={"a": 1}, id="order-7")
    )
    # THEN one WebhookMessage with that id waits on the partner queue
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=naming.partner_queue(STAGE, "acme"))["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    body = WebhookMessage.model_validate_json(message["Body"])
    assert (body.id, body.partner_id, body.topic, body.payload) == (
        "order-7",
        "acme",
        "invoice.paid",
        {"a": 1},
    )
    assert published.webhook_id == "order-7"
    assert published.message_id == message["MessageId"]


def test_recorded_attempts_list_newest_first_in_pages(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN five attempt records on the results queue, one a minute
    make_partner("acme")
    log = AttemptLog(STAGE, clients=ctx.clients)
    event = sqs_event([attempt(n).model_dump_json() for n in range(5)])
    # WHEN the recorder handles them
    assert record_attempts(event, log) == {"batchItemFailures": []}
    # THEN the deliveries read newest first, two a page, following the cursor
    first = list_deliveries(log, "acme", limit=2)
    second = list_deliveries(log, "acme", limit=2, cursor=first.next_cursor)
    third = list_deliveries(log, "acme", limit=2, cursor=second.next_cursor)
    pages = [[r.webhook_id for r in page.items] for page in (first, second, third)]
    assert pages == [["msg_4", "msg_3"], ["msg_2", "msg_1"], ["msg_0"]]
    # AND each item expires 30 days after its attempt (DynamoDB TTL)
    item = aws("dynamodb").scan(TableName=naming.deliveries_table(STAGE), Limit=1)["Items"][0]
    at = datetime.fromisoformat(json.loads(item["doc"]["S"])["at"])
    assert int(item["expires_at"]["N"]) == int((at + timedelta(days=30)).timestamp())


def test_a_gone_outcome_marks_the_partner(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner whose endpoint answered 410 Gone
    make_partner("acme")
    # WHEN the GONE attempt is recorded
    record_attempts(
        sqs_event([attempt(3, Outcome.GONE).model_dump_json()]), AttemptLog(STAGE, clients=ctx.clients)
    )
    # THEN the partner is marked gone at that attempt's time
    assert ctx.partners.get("acme").gone_at == T0 + timedelta(minutes=3)


def test_recorder_drops_unreadable_records_and_retries_failed_writes(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a batch of an unreadable record and a good one, while the table write fails once
    make_partner("acme")
    ctx.clients.overrides["dynamodb"] = Failing(aws("dynamodb"), "put_item")
    event = sqs_event(["not json", attempt(1).model_dump_json()])
    # WHEN the recorder handles it
    response = record_attempts(event, AttemptLog(STAGE, clients=ctx.clients))
    # THEN only the good record is reported failed (SQS retries it); the unreadable one is dropped
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}


def test_a_cursor_from_elsewhere_is_refused(ctx: Provisioner) -> None:
    # GIVEN a cursor that is not base64 JSON, WHEN it is used, THEN InvalidInput
    with pytest.raises(InvalidInput, match="cursor"):
        list_deliveries(AttemptLog(STAGE, clients=ctx.clients), "acme", cursor="@@@")


def test_status_shows_depths_mapping_function_and_last_delivery(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner with two queued events and one recorded attempt
    make_partner("acme")
    for n in range(2):
        ctx.publisher.publish("acme", PublishRequest(topic="t", payload={"n": n}))
    log = AttemptLog(STAGE, clients=ctx.clients)
    record_attempts(sqs_event([attempt(1).model_dump_json()]), log)
    # WHEN its status is read
    state = partner_status(ctx, "acme", log)
    # THEN it shows the depths, the mapping, the function's code and the last outcome
    assert state.queue == {"visible": 2, "in_flight": 0, "delayed": 0}
    assert state.dead_letter_queue == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert (state.mapping_state, state.mapping_max_concurrency) == ("Enabled", 2)
    assert state.function is not None
    assert state.function.version == "1"  # what the live alias runs
    assert state.last_delivery is not None
    assert state.last_delivery.webhook_id == "msg_1"


def test_publishing_looks_the_partner_queue_up_once(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner, no queue URL remembered yet, and every SQS GetQueueUrl counted
    from hookrelay.aws import sqs as sqs_calls  # the queue-URL cache lives with the SQS calls

    make_partner("acme")
    sqs_calls._queue_urls.clear()
    lookups: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        lookups.append(str(params.get("QueueName")))

    events = ctx.clients.sqs.meta.events  # the process-wide client: unhook it afterwards
    events.register("before-parameter-build.sqs.GetQueueUrl", count)
    try:
        # WHEN three events are published
        for n in range(3):
            ctx.publisher.publish("acme", PublishRequest(topic="invoice.paid", payload={"n": n}))
    finally:
        events.unregister("before-parameter-build.sqs.GetQueueUrl", count)
    # THEN the queue URL was asked for once (the hot path does not repeat it)
    assert lookups.count(naming.partner_queue(ctx.stage, "acme")) == 1


def test_a_send_refused_for_any_reason_forgets_the_queue_url(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner whose queue URL is remembered, and an SQS that refuses the next send (AccessDenied)
    from botocore.exceptions import ClientError

    from hookrelay.aws import sqs as sqs_calls  # the queue-URL cache lives with the SQS calls
    from hookrelay.errors import PermissionDenied

    make_partner("acme")
    sqs_calls._queue_urls.clear()
    ctx.publisher.publish("acme", PublishRequest(topic="invoice.paid", payload={}))
    assert len(sqs_calls._queue_urls) == 1

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "SendMessage")

    events = ctx.clients.sqs.meta.events
    events.register("before-call.sqs.SendMessage", refuse)
    try:
        # WHEN a publish is refused
        with pytest.raises(PermissionDenied):
            ctx.publisher.publish("acme", PublishRequest(topic="invoice.paid", payload={}))
    finally:
        events.unregister("before-call.sqs.SendMessage", refuse)
    # THEN the URL is forgotten: the next publish looks the queue up again
    assert sqs_calls._queue_urls == {}
