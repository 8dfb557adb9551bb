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
    # THEN the retry carried exactly the ids of the failed attempt, and each message arrived once
    assert len(sent) == 2
    assert sent[1] == sent[0]
    assert len(set(sent[0].values())) == 3
    assert (report.moved, numbers(sqs, dest)) == (3, [0, 1, 2])
