"""The sqs-mv engine against moto: what is moved, what is kept, what is never lost."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from hookrelay.aws.sqs import DEAD_LETTERED_AT_ATTRIBUTE, ORIGIN_ATTRIBUTE, REASON_ATTRIBUTE
from hookrelay.errors import InvalidInput, NotFound, PermissionDenied
from hookrelay.models import DeliveryState, WebhookMessage
from hookrelay.mover.engine import move_messages
from hookrelay.mover.request import MoveRequest, StopReason
from tests.support.mover import AtomicReceives, FailingDeletes, FlakySqs, denied, fill, numbers, visible
from tests.support.sqs import drain


def request(source: str, dest: str | None = "dest", **options: Any) -> MoveRequest:
    return MoveRequest(source=source, dest=dest, wait_seconds=0, **options)


@pytest.fixture
def queues(sqs: Any) -> tuple[str, str]:
    return sqs.create_queue(QueueName="source")["QueueUrl"], sqs.create_queue(QueueName="dest")["QueueUrl"]


def test_moves_everything_with_body_and_every_attribute_type(sqs: Any, queues: tuple[str, str]) -> None:
    # GIVEN 25 messages with String, Number and Binary attributes
    source, dest = queues
    attributes = {
        "kind": {"DataType": "String", "StringValue": "invoice"},
        "size": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    fill(sqs, source, 25, MessageAttributes=attributes)
    # WHEN they are moved
    report = move_messages(request("source", concurrency=3), sqs=AtomicReceives(sqs))
    # THEN all 25 arrive, byte for byte, with their attributes, and the source is empty
    assert (report.moved, report.failed, report.stop_reason) == (25, 0, StopReason.DRAINED)
    moved = drain(sqs, dest, max_polls=20)
    assert sorted(json.loads(m["Body"])["n"] for m in moved) == list(range(25))
    assert all(m["MessageAttributes"] == attributes for m in moved)
    assert visible(sqs, source) == 0


def test_fifo_keeps_group_ids_and_order_and_sets_a_deduplication_id(sqs: Any) -> None:
    # GIVEN a FIFO queue with two groups of 12 ordered messages
    fifo = {"FifoQueue": "true"}
    source = sqs.create_queue(QueueName="source.fifo", Attributes=fifo)["QueueUrl"]
    dest = sqs.create_queue(QueueName="dest.fifo", Attributes=fifo)["QueueUrl"]
    for n in range(24):
        group = "ab"[n % 2]
        sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"n": n}), MessageGroupId=group,
                         MessageDeduplicationId=f"d{n}")  # fmt: skip
    ids = {}
    # WHEN moved (one worker: FIFO order within a group is what matters)
    report = move_messages(request("source.fifo", "dest.fifo", concurrency=1), sqs=sqs)
    # THEN each group arrives complete and in order, deduplicated by the source message id
    assert report.moved == 24
    moved = drain(sqs, dest, max_polls=20)
    for message in moved:
        ids[json.loads(message["Body"])["n"]] = message["Attributes"]
    for group, first in (("a", 0), ("b", 1)):
        in_group = [json.loads(m["Body"])["n"] for m in moved if m["Attributes"]["MessageGroupId"] == group]
        assert in_group == list(range(first, 24, 2))
    assert all(attrs["MessageDeduplicationId"] not in {f"d{n}" for n in range(24)} for attrs in ids.values())


def test_retries_entries_that_failed_for_sqs_reasons_and_deletes_only_confirmed_ones(
    sqs: Any, queues: tuple[str, str]
) -> None:
    # GIVEN a destination whose first batch send fails half its entries (not the sender's fault)
    source, dest = queues
    fill(sqs, source, 20)
    flaky = FlakySqs(sqs, lambda call, entries: {e["Id"]: False for e in entries[::2]} if call == 1 else {})
    # WHEN moved
    report = move_messages(request("source", concurrency=1), sqs=flaky)
    # THEN the failed entries were retried: everything moved exactly once, nothing deleted unconfirmed
    assert (report.moved, report.failed) == (20, 0)
    assert numbers(sqs, dest) == list(range(20))
    assert flaky.deleted_before_confirmed() == []
    assert set(flaky.deleted_handles) <= flaky.confirmed_handles
    assert len(flaky.deleted_handles) == 20


def test_the_call_order_check_catches_a_delete_made_before_its_copy_is_confirmed(sqs: Any) -> None:
    # GIVEN a received message deleted first and sent after (what the mover must never do)
    url = sqs.create_queue(QueueName="order")["QueueUrl"]
    fill(sqs, url, 1)
    flaky = FlakySqs(sqs, lambda call, entries: {})
    [message] = flaky.receive_message(QueueUrl=url)["Messages"]
    entry = {"Id": "0", "ReceiptHandle": message["ReceiptHandle"]}
    flaky.delete_message_batch(QueueUrl=url, Entries=[entry])
    flaky.send_message_batch(QueueUrl=url, Entries=[{"Id": "0", "MessageBody": message["Body"]}])
    # THEN the check names it, although the end state (deleted and confirmed) looks fine
    assert flaky.deleted_before_confirmed() == [message["ReceiptHandle"]]
    assert set(flaky.deleted_handles) <= flaky.confirmed_handles


def test_a_message_whose_delete_keeps_failing_is_sent_once_and_the_run_still_ends(
    sqs: Any, queues: tuple[str, str]
) -> None:
    # GIVEN a source whose deletes always fail (SQS answers Failed entries), and a visibility timeout
    # shorter than the long poll, so a moved message comes back while the run goes on
    source, dest = queues
    fill(sqs, source, 3)
    failing = FailingDeletes(sqs)
    move = MoveRequest(source="source", dest="dest", wait_seconds=2, visibility_timeout=1, empty_polls=2)
    # WHEN moved (a deadline only as the test's safety net)
    report = move_messages(move, sqs=failing, deadline=time.monotonic() + 30)
    # THEN each message was sent exactly once, the run drained by itself, and the three copies that could
    # not be deleted are reported (they stay on the source: nothing lost, duplicates named)
    assert sorted(json.loads(body)["n"] for body in failing.sent) == [0, 1, 2]
    assert (report.moved, report.not_deleted, report.stop_reason) == (3, 3, StopReason.DRAINED)
    assert numbers(sqs, dest) == [0, 1, 2]
    assert numbers(sqs, source) == [0, 1, 2]
    assert failing.delete_calls > 1  # the returning copies were tried again, not sent again


def test_entries_refused_as_the_senders_fault_stay_on_the_source(sqs: Any, queues: tuple[str, str]) -> None:
    # GIVEN a destination that refuses two entries of every batch (sender's fault: retrying cannot help)
    source, dest = queues
    fill(sqs, source, 20)
    flaky = FlakySqs(sqs, lambda call, entries: {e["Id"]: True for e in entries[:2]})
    # WHEN moved
    report = move_messages(request("source", concurrency=1), sqs=flaky)
    # THEN those are counted as failed, never deleted, and visible on the source again; the rest moved
    assert (report.moved, report.failed, report.ok) == (16, 4, False)
    assert flaky.deleted_before_confirmed() == []
    assert set(flaky.deleted_handles) <= flaky.confirmed_handles
    left, arrived = numbers(sqs, source), numbers(sqs, dest)
    assert len(left) == 4
    assert sorted(left + arrived) == list(range(20))


def test_limit_moves_exactly_that_many_across_workers(sqs: Any, queues: tuple[str, str]) -> None:
    # GIVEN 40 messages WHEN at most 13 are moved by 4 workers
    source, dest = queues
    fill(sqs, source, 40)
    report = move_messages(request("source", limit=13, concurrency=4), sqs=AtomicReceives(sqs))
    # THEN exactly 13 moved and 27 remain, all visible
    assert (report.moved, report.stop_reason) == (13, StopReason.LIMIT)
    assert (visible(sqs, dest), visible(sqs, source)) == (13, 27)


def test_filter_on_an_attribute_and_a_body_field_moves_only_matches(
    sqs: Any, queues: tuple[str, str]
) -> None:
    # GIVEN 20 messages, half tagged partner=acme
    source, dest = queues
    for n in range(20):
        partner = "acme" if n % 2 else "other"
        attributes = {"partner": {"DataType": "String", "StringValue": partner}}
        sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"n": n, "big": n >= 10}),
                         MessageAttributes=attributes)  # fmt: skip
    # WHEN only partner=acme messages whose body says big=true are moved
    report = move_messages(request("source", filter=["attr.partner=acme", "body.big=true"]), sqs=sqs)
    # THEN exactly those 5 moved, the other 15 were skipped and are visible on the source again
    assert (report.moved, report.skipped) == (5, 15)
    assert numbers(sqs, dest) == [11, 13, 15, 17, 19]
    assert visible(sqs, source) == 15


def test_dry_run_moves_nothing_and_leaves_everything_visible(sqs: Any, queues: tuple[str, str]) -> None:
    # GIVEN 30 messages WHEN a dry run counts them
    source, dest = queues
    fill(sqs, source, 30)
    report = move_messages(request("source", dry_run=True), sqs=sqs)
    # THEN it reports 30 that would move, shows 10, moved nothing, and all 30 are visible at once
    assert (report.would_move, report.moved, len(report.samples)) == (30, 0, 10)
    assert report.samples[0].dest == "dest"
    assert (visible(sqs, source), visible(sqs, dest)) == (30, 0)


def test_to_origin_sends_each_message_home_without_the_dead_letter_attributes(sqs: Any) -> None:
    # GIVEN a shared DLQ with messages from two origin queues, plus one without an origin attribute
    origins = [sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("partner-a", "partner-b")]
    dlq = sqs.create_queue(QueueName="shared-dlq")["QueueUrl"]
    for n in range(6):
        attributes = {
            ORIGIN_ATTRIBUTE: {"DataType": "String", "StringValue": origins[n % 2]},
            REASON_ATTRIBUTE: {"DataType": "String", "StringValue": "retries exhausted"},
            DEAD_LETTERED_AT_ATTRIBUTE: {"DataType": "String", "StringValue": "2026-01-01T00:00:00+00:00"},
            "trace": {"DataType": "String", "StringValue": f"t{n}"},
        }
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"n": n}), MessageAttributes=attributes)
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"n": 6}))
    # WHEN redriven to origin
    report = move_messages(request("shared-dlq", None, to_origin=True), sqs=sqs)
    # THEN each went home with only its own attributes; the one without origin stays (no single source)
    assert (report.moved, report.failed) == (6, 1)
    assert report.per_dest == {"partner-a": 3, "partner-b": 3}
    for index, url in enumerate(origins):
        home = drain(sqs, url)
        assert sorted(json.loads(m["Body"])["n"] for m in home) == [index, index + 2, index + 4]
        assert all(set(m["MessageAttributes"]) == {"trace"} for m in home)
    assert numbers(sqs, dlq) == [6]


def test_to_origin_falls_back_to_the_dlqs_only_source_queue(sqs: Any) -> None:
    # GIVEN a DLQ that is the dead-letter target of exactly one queue, holding SQS-dead-lettered messages
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    orders = sqs.create_queue(QueueName="orders", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    fill(sqs, dlq, 4)
    # WHEN redriven to origin THEN they all go back to that queue
    report = move_messages(request("orders-dlq", None, to_origin=True), sqs=sqs)
    assert report.moved == 4
    assert numbers(sqs, orders) == [0, 1, 2, 3]


def test_reset_attempts_gives_webhooks_a_fresh_delivery_state(sqs: Any, queues: tuple[str, str]) -> None:
    # GIVEN a webhook that used 5 attempts, and a message that is not a webhook
    source, dest = queues
    webhook = WebhookMessage(partner_id="acme", topic="invoice.paid", payload={"x": 1})
    worn = webhook.with_delivery(DeliveryState(attempt=5))
    sqs.send_message(QueueUrl=source, MessageBody=worn.to_sqs_body())
    sqs.send_message(QueueUrl=source, MessageBody="not json")
    # WHEN moved with reset_attempts
    report = move_messages(request("source", reset_attempts=True), sqs=sqs)
    # THEN the webhook starts over (same id and payload); the other is moved unchanged and counted
    assert (report.moved, report.reset, report.not_webhook) == (2, 1, 1)
    bodies = sorted(m["Body"] for m in drain(sqs, dest))
    assert bodies[0] == "not json"
    assert WebhookMessage.model_validate_json(bodies[1]) == webhook.with_delivery(DeliveryState())


def test_stop_finishes_the_batch_in_flight_and_loses_nothing(sqs: Any, queues: tuple[str, str]) -> None:
    # GIVEN 50 messages and a stop (Ctrl-C) that arrives during the second batch's send
    source, dest = queues
    fill(sqs, source, 50)
    stop = threading.Event()

    def interrupt(call: int, entries: list[dict[str, Any]]) -> dict[str, bool]:
        if call == 2:
            stop.set()
        return {}

    # WHEN moved
    report = move_messages(request("source", concurrency=1), sqs=FlakySqs(sqs, interrupt), stop=stop)
    # THEN the second batch completed, nothing more started, and each message is in exactly one queue
    assert (report.moved, report.stop_reason) == (20, StopReason.INTERRUPTED)
    arrived, left = numbers(sqs, dest), numbers(sqs, source)
    assert len(arrived) == 20
    assert sorted(arrived + left) == list(range(50))


def test_a_missing_queue_is_not_found(sqs: Any, queues: tuple[str, str]) -> None:
    with pytest.raises(NotFound, match="queue nowhere does not exist"):
        move_messages(request("source", "nowhere"), sqs=sqs)


def test_source_equal_to_dest_is_refused_even_by_name_and_url(sqs: Any, queues: tuple[str, str]) -> None:
    with pytest.raises(InvalidInput, match="same queue"):
        move_messages(request("source", queues[0]), sqs=sqs)


def test_access_denied_is_permission_denied(sqs: Any, queues: tuple[str, str]) -> None:
    class Denied(FlakySqs):
        def get_queue_attributes(self, **kwargs: Any) -> Any:
            raise denied("GetQueueAttributes")

    with pytest.raises(PermissionDenied, match="no permission to read attributes on queue source"):
        move_messages(request("source"), sqs=Denied(sqs, lambda call, entries: {}))


def test_no_permission_to_send_stops_the_move_and_deletes_nothing(sqs: Any, queues: tuple[str, str]) -> None:
    # GIVEN a destination this role may not send to
    source = queues[0]
    fill(sqs, source, 15)

    def refuse(call: int, entries: list[dict[str, Any]]) -> dict[str, bool]:
        raise denied("SendMessageBatch")

    flaky = FlakySqs(sqs, refuse)
    # WHEN moved
    report = move_messages(request("source", concurrency=1), sqs=flaky)
    # THEN it stops at the first batch with a clear reason, and every message is back on the source
    assert (report.stop_reason, report.fatal, report.moved) == (StopReason.ERROR, "permission_denied", 0)
    assert report.errors == ["no permission to send messages on queue dest (AccessDenied: not for you)"]
    assert flaky.deleted_handles == []
    assert numbers(sqs, source) == list(range(15))


def test_a_deadline_in_the_past_starts_no_batch(sqs: Any, queues: tuple[str, str]) -> None:
    # GIVEN a Lambda with no time left WHEN it moves THEN it stops at once and says why
    fill(sqs, queues[0], 5)
    report = move_messages(request("source"), sqs=sqs, deadline=time.monotonic())
    assert (report.stop_reason, report.moved, visible(sqs, queues[0])) == (StopReason.DEADLINE, 0, 5)
