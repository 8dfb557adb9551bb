"""sqs-mv and SQS FIFO deduplication, against moto (which drops a repeated deduplication id).

The deduplication id of a moved copy is the source message id. These tests pin what that gives:
a message moved again within the 5-minute window arrives (every move makes a new message with a new
id), while a retried send within one run carries the same id, so SQS drops a duplicate of it.
"""

from __future__ import annotations

import json
from typing import Any

from hookrelay.mover.engine import move_messages
from hookrelay.mover.request import MoveRequest
from tests.support.mover import FlakySqs, numbers, visible

FIFO = {"FifoQueue": "true"}


def request(source: str, dest: str, **options: Any) -> MoveRequest:
    return MoveRequest(source=source, dest=dest, wait_seconds=0, concurrency=1, **options)


def fifo_queue(sqs: Any, name: str, **attributes: str) -> str:
    return str(sqs.create_queue(QueueName=name, Attributes={**FIFO, **attributes})["QueueUrl"])


def send(sqs: Any, url: str, n: int, dedup: str) -> None:
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}), MessageGroupId="g",
                     MessageDeduplicationId=dedup)  # fmt: skip


def test_moto_drops_a_repeated_deduplication_id_so_these_tests_are_real(sqs: Any) -> None:
    # GIVEN a FIFO queue WHEN two messages carry the same deduplication id within 5 minutes
    url = fifo_queue(sqs, "q.fifo")
    send(sqs, url, 1, "same")
    send(sqs, url, 2, "same")
    # THEN only the first is kept
    assert numbers(sqs, url) == [1]


def test_a_message_moved_back_and_forth_within_the_window_arrives_every_time(sqs: Any) -> None:
    # GIVEN one message on a FIFO queue
    a, b = fifo_queue(sqs, "a.fifo"), fifo_queue(sqs, "b.fifo")
    send(sqs, a, 7, "original")
    # WHEN it is moved a -> b -> a -> b -> a -> b within seconds
    hops = [("a.fifo", "b.fifo"), ("b.fifo", "a.fifo")] * 2 + [("a.fifo", "b.fifo")]
    for hop, (source, dest) in enumerate(hops):
        report = move_messages(request(source, dest), sqs=sqs)
        # THEN every move delivers it: each copy is a new message with a new id, never a duplicate
        assert report.moved == 1, f"hop {hop} dropped it"
    assert (visible(sqs, a), numbers(sqs, b)) == (0, [7])


def test_a_retried_send_reuses_the_same_deduplication_id(sqs: Any) -> None:
    # GIVEN a FIFO destination whose first batch send fails every entry for SQS's reasons
    source, dest = fifo_queue(sqs, "source.fifo"), fifo_queue(sqs, "dest.fifo")
    for n in range(3):
        send(sqs, source, n, f"d{n}")
    sent: list[dict[str, str]] = []

    def fail_first(call: int, entries: list[dict[str, Any]]) -> dict[str, bool]:
        sent.append({e["MessageBody"]: e["MessageDeduplicationId"] for e in entries})
        return {e["Id"]: False for e in entries} if call == 1 else {}

    # WHEN moved
    report = move_messages(request("source.fifo", "dest.fifo"), sqs=FlakySqs(sqs, fail_first))
    # THEN (one group: one message per request, in order) the retry carried exactly the id of the
    # failed attempt, and each message arrived once, in order
    assert len(sent) == 4
    assert sent[1] == sent[0]
    assert len({dedup for request in sent for dedup in request.values()}) == 3
    assert (report.moved, numbers(sqs, dest)) == (3, [0, 1, 2])


def group_send(sqs: Any, url: str, group: str, n: int) -> None:
    body = json.dumps({"group": group, "n": n})
    sqs.send_message(
        QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=f"{group}{n}"
    )


def test_moving_a_fifo_dlq_back_keeps_each_groups_order_and_ids(sqs: Any) -> None:
    # GIVEN a FIFO DLQ holding 3 groups of 12 messages, interleaved
    dlq, origin = fifo_queue(sqs, "p-dlq.fifo"), fifo_queue(sqs, "p.fifo")
    for n in range(12):
        for group in "abc":
            group_send(sqs, dlq, group, n)
    # WHEN it is moved back with four workers
    report = move_messages(
        MoveRequest(source="p-dlq.fifo", dest="p.fifo", wait_seconds=0, concurrency=4), sqs=sqs
    )
    # THEN everything moved, and each group arrived whole, in its order, under its own group id
    assert report.moved == 36
    got = sqs.receive_message(QueueUrl=origin, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    arrived: dict[str, list[int]] = {}
    while got.get("Messages"):
        for message in got["Messages"]:
            body = json.loads(message["Body"])
            assert message["Attributes"]["MessageGroupId"] == body["group"]
            arrived.setdefault(body["group"], []).append(body["n"])
            sqs.delete_message(QueueUrl=origin, ReceiptHandle=message["ReceiptHandle"])
        got = sqs.receive_message(
            QueueUrl=origin, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )
    assert arrived == {group: list(range(12)) for group in "abc"}


def test_a_refused_copy_stops_its_group_and_the_rest_of_the_group_stays_in_order(sqs: Any) -> None:
    # GIVEN a FIFO source with group a: 0, 1, 2 and group b: 0, 1, where a's second copy is refused
    source, dest = fifo_queue(sqs, "s.fifo"), fifo_queue(sqs, "d.fifo")
    for group, n in [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2)]:
        group_send(sqs, source, group, n)

    def refuse_a1(call: int, entries: list[dict[str, Any]]) -> dict[str, bool]:
        return {e["Id"]: False for e in entries if json.loads(e["MessageBody"]) == {"group": "a", "n": 1}}

    # WHEN moved (one attempt per send)
    report = move_messages(request("s.fifo", "d.fifo", send_attempts=1), sqs=FlakySqs(sqs, refuse_a1))
    # THEN a1 and a2 stayed on the source (a2 was never sent past a1); a0 and all of b moved
    assert (report.moved, report.failed) == (3, 2)
    assert sorted((b["group"], b["n"]) for b in map(json.loads, map(str, bodies_on(sqs, dest)))) == [
        ("a", 0),
        ("b", 0),
        ("b", 1),
    ]
    assert visible(sqs, source) == 2


def bodies_on(sqs: Any, url: str) -> list[str]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [m["Body"] for m in got.get("Messages", [])]


def receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    return list(got.get("Messages", []))
