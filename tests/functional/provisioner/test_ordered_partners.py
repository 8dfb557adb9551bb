"""Ordered partners (``"ordering": "fifo"``) through the provisioner, against moto: FIFO queues, alarms
on the FIFO names, publishing with an ordering key, and no change of ordering after create."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookrelay.attempts.log import AttemptLog
from hookrelay.errors import Conflict
from hookrelay.partners.ordering import FIFO_MAX_RECEIVE_COUNT, PARTNER_WIDE_GROUP
from hookrelay.partners.update import PartnerUpdate
from hookrelay.provisioning.changes import update_partner
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.lifecycle import delete_partner
from hookrelay.provisioning.publish import PublishRequest
from hookrelay.provisioning.status import partner_status

from .conftest import STAGE, URL, aws

QUEUE = f"hookrelay-{STAGE}-acme.fifo"
DLQ = f"hookrelay-{STAGE}-acme-dlq.fifo"


def attributes(name: str) -> dict[str, str]:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return dict(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])


def test_an_ordered_partner_gets_a_fifo_queue_and_dlq(ctx: Provisioner, make_partner: Any) -> None:
    # WHEN a partner is created with ordering fifo and block_on_failure
    created = make_partner("acme", ordering="fifo", block_on_failure=True)
    # THEN its queue and DLQ are FIFO queues named .fifo, deduplicating by the id the sender gives
    queue, dlq = attributes(QUEUE), attributes(DLQ)
    assert (queue["FifoQueue"], queue["ContentBasedDeduplication"]) == ("true", "false")
    assert (dlq["FifoQueue"], dlq["ContentBasedDeduplication"]) == ("true", "false")
    # AND the redrive waits SQS's maximum of receives (receives are not attempts on a FIFO queue)
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":" + DLQ)
    assert redrive["maxReceiveCount"] == FIFO_MAX_RECEIVE_COUNT
    # AND the handler knows its FIFO queues, its receive budget and that it blocks
    env = aws("lambda").get_function_configuration(FunctionName=f"hookrelay-{STAGE}-acme")["Environment"][
        "Variables"
    ]
    assert env["HOOKRELAY_QUEUE_URL"].endswith("/" + QUEUE)
    assert env["HOOKRELAY_DEAD_LETTER_QUEUE_URL"].endswith("/" + DLQ)
    assert (env["HOOKRELAY_MAX_RECEIVE_COUNT"], env["HOOKRELAY_BLOCK_ON_FAILURE"]) == ("1000", "true")
    # AND the stored partner says so
    assert (created.partner.ordering, created.partner.block_on_failure) == ("fifo", True)


def test_an_ordered_partners_alarms_watch_its_fifo_queues(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a stage where this partner has alarms of its own
    ctx.settings = ctx.settings.model_copy(update={"partner_alarms": ("acme",)})
    # WHEN an ordered partner is created
    make_partner("acme", ordering="fifo")
    # THEN its queue alarms name the FIFO queues
    alarms = aws("cloudwatch").describe_alarms(AlarmNamePrefix=f"hookrelay-{STAGE}-acme-")["MetricAlarms"]
    queues = {a["AlarmName"]: d["Value"] for a in alarms for d in a["Dimensions"] if d["Name"] == "QueueName"}
    assert queues == {
        f"hookrelay-{STAGE}-acme-oldest-message-age": QUEUE,
        f"hookrelay-{STAGE}-acme-dlq-depth": DLQ,
    }


def test_publishing_to_an_ordered_partner_groups_by_ordering_key(ctx: Provisioner, make_partner: Any) -> None:
    make_partner("acme", ordering="fifo")
    # WHEN events are published with and without an ordering key
    keyed = ctx.publisher.publish(
        "acme", PublishRequest(topic="t", payload={"n": 1}, id="msg_keyed", ordering_key="customer-42")
    )
    plain = ctx.publisher.publish("acme", PublishRequest(topic="t", payload={"n": 2}, id="msg_plain"))
    # AND the first is published again (a retrying producer, within SQS's 5-minute window)
    ctx.publisher.publish(
        "acme", PublishRequest(topic="t", payload={"n": 1}, id="msg_keyed", ordering_key="customer-42")
    )
    # THEN the queue holds two messages: grouped by the key, else partner-wide; deduplicated by webhook id
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    found = {
        json.loads(m["Body"])["id"]: (
            m["Attributes"]["MessageGroupId"],
            m["Attributes"]["MessageDeduplicationId"],
        )
        for m in got["Messages"]
    }
    assert found == {
        "msg_keyed": ("customer-42", "msg_keyed"),
        "msg_plain": (PARTNER_WIDE_GROUP, "msg_plain"),
    }
    assert (keyed.webhook_id, plain.webhook_id) == ("msg_keyed", "msg_plain")


def test_ordering_cannot_change_after_create(ctx: Provisioner, make_partner: Any) -> None:
    make_partner("acme")
    # WHEN an update asks for FIFO ordering
    with pytest.raises(Conflict) as raised:
        update_partner(ctx, "acme", PartnerUpdate(ordering="fifo"))
    # THEN it is 409, saying how to migrate
    assert raised.value.status_code == 409
    assert "create a new partner" in raised.value.message
    assert "docs/ordering.md" in raised.value.message


def test_block_on_failure_needs_fifo_ordering(ctx: Provisioner, make_partner: Any) -> None:
    make_partner("acme", ordering="fifo")
    # WHEN block_on_failure is switched on and off on an ordered partner, THEN both are accepted
    assert update_partner(ctx, "acme", PartnerUpdate(block_on_failure=True)).block_on_failure is True
    assert update_partner(ctx, "acme", PartnerUpdate(block_on_failure=False)).block_on_failure is False
    # AND the ordering stays; an update naming the same ordering is no change
    assert update_partner(ctx, "acme", PartnerUpdate(ordering="fifo")).ordering == "fifo"


def test_status_and_delete_find_the_fifo_queues(ctx: Provisioner, make_partner: Any) -> None:
    make_partner("acme", ordering="fifo")
    ctx.publisher.publish("acme", PublishRequest(topic="t", payload={}, ordering_key="k"))
    # WHEN the status is read, THEN it shows the FIFO queue's depth
    state = partner_status(ctx, "acme", AttemptLog(STAGE, clients=ctx.clients))
    assert state.queue == {"visible": 1, "in_flight": 0, "delayed": 0}
    assert state.dead_letter_queue == {"visible": 0, "in_flight": 0, "delayed": 0}
    # WHEN the partner is deleted, THEN both FIFO queues go
    removed = delete_partner(ctx, "acme").removed
    assert {f"queue:{QUEUE}", f"queue:{DLQ}"} <= set(removed)


def call(http: Any, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = getattr(http.http, method.lower())(
        path, headers={"Content-Type": "application/json"}, body=json.dumps(body)
    )
    return response.status_code, json.loads(response.body)


def test_the_api_creates_an_ordered_partner_and_answers_bad_ordering_input_with_4xx_json(http: Any) -> None:
    # WHEN an ordered partner is created over HTTP, THEN 201 with its ordering
    status, created = call(http, "POST", "/partners", {"partner_id": "acme", "url": URL, "ordering": "fifo"})
    assert (status, created["ordering"], created["block_on_failure"]) == (201, "fifo", False)
    # AND an event with an ordering key is accepted
    event = {"topic": "t", "payload": {}, "ordering_key": "k1"}
    assert call(http, "POST", "/partners/acme/events", event)[0] == 202
    # AND every bad input is a clear 4xx JSON error, never a 500
    bad = [
        ("PATCH", "/partners/acme", {"ordering": "none"}, 409),  # cannot change: how to migrate
        ("POST", "/partners", {"partner_id": "b", "url": URL, "block_on_failure": True}, 400),  # needs fifo
        ("POST", "/partners", {"partner_id": "c", "url": URL, "ordering": "lifo"}, 400),
        ("POST", "/partners/acme/events", {"topic": "t", "payload": {}, "ordering_key": "a b"}, 400),
        ("POST", "/partners/acme/events", {"topic": "t", "payload": {}, "ordering_key": "k" * 129}, 400),
    ]
    for method, path, body, expected in bad:
        status, error = call(http, method, path, body)
        assert (status, sorted(error)) == (expected, ["error", "message"]), (path, body, error)
