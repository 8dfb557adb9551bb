"""moto's long poll, as the embedded AWS mends it: it sleeps until something can change its answer.

moto's own long poll wakes and rescans its queue every second; 1,000 idle partners made 1,000 wake-ups a
second in moto. Mended (``hookrelay_local.embedded_aws``), a waiting ``ReceiveMessage`` wakes when a
message is sent to its queue or made visible, when a hidden message is due, or when its
``WaitTimeSeconds`` ends. ``long_polls.waits(queue)`` counts the wake-ups of the moto in this process.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from hookrelay_local.embedded_aws import long_polls
from tests.support.lambda_runtime import LocalAws

JOIN_S = 10.0  # far below the 20 s long polls: a poll that ended by then was woken, not timed out


class Poll:
    """One ReceiveMessage on its own thread (the test goes on while it waits)."""

    def __init__(self, sqs: Any, queue_url: str, wait_seconds: int) -> None:
        self.answer: dict[str, Any] = {}
        self._thread = threading.Thread(
            target=lambda: self.answer.update(
                sqs.receive_message(
                    QueueUrl=queue_url,
                    WaitTimeSeconds=wait_seconds,
                    MessageSystemAttributeNames=["All"],
                )
            ),
            daemon=True,
        )

    def start_and_wait_until_waiting(self, queue_name: str) -> Poll:
        before = long_polls.waits(queue_name)
        self._thread.start()
        while long_polls.waits(queue_name) == before:
            time.sleep(0.01)
        return self

    def returned(self) -> bool:
        self._thread.join(JOIN_S)
        return not self._thread.is_alive()

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.answer.get("Messages", []))


@pytest.fixture
def queue(local_aws: LocalAws, request: pytest.FixtureRequest) -> tuple[str, str]:
    """A fresh queue named after the test (the wake-up counts are by queue name): (name, url)."""
    name = f"long-poll-{request.node.name.removeprefix('test_')[:60]}"
    return name, local_aws.sqs.create_queue(QueueName=name)["QueueUrl"]


def test_an_idle_long_poll_sleeps_until_its_wait_time_ends(
    local_aws: LocalAws, queue: tuple[str, str]
) -> None:
    # GIVEN an empty queue
    name, url = queue
    started = time.monotonic()
    # WHEN a 3 s long poll waits on it
    answer = local_aws.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)
    # THEN it returns empty, not before its 3 s, after sleeping once or twice (moto alone: 3 or 4 times)
    assert answer.get("Messages", []) == []
    assert time.monotonic() - started >= 3
    assert 1 <= long_polls.waits(name) <= 2


def test_a_send_wakes_a_waiting_long_poll_at_once(local_aws: LocalAws, queue: tuple[str, str]) -> None:
    # GIVEN a 20 s long poll waiting on an empty queue
    name, url = queue
    poll = Poll(local_aws.sqs, url, 20).start_and_wait_until_waiting(name)
    # WHEN a message is sent to the queue
    local_aws.sqs.send_message(QueueUrl=url, MessageBody="hello")
    # THEN the poll returns it long before its 20 s are up, woken once, by the send
    assert poll.returned()
    assert [m["Body"] for m in poll.messages] == ["hello"]
    assert long_polls.waits(name) == 1


def test_a_delayed_message_sent_during_a_long_poll_is_received_when_due(
    local_aws: LocalAws, queue: tuple[str, str]
) -> None:
    # GIVEN a 20 s long poll waiting on an empty queue
    name, url = queue
    poll = Poll(local_aws.sqs, url, 20).start_and_wait_until_waiting(name)
    # WHEN a message delayed by 1 s is sent
    local_aws.sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    # THEN the poll returns it once it is due, not at its end: woken by the send (nothing visible yet),
    # then by the due time
    assert poll.returned()
    (message,) = poll.messages
    received_ms = int(message["Attributes"]["ApproximateFirstReceiveTimestamp"])
    assert received_ms - int(message["Attributes"]["SentTimestamp"]) >= 1000
    assert long_polls.waits(name) == 2


def test_a_message_whose_visibility_timeout_ends_is_received_by_a_waiting_long_poll(
    local_aws: LocalAws, queue: tuple[str, str]
) -> None:
    # GIVEN a message received with a 1 s visibility timeout, so in flight
    name, url = queue
    local_aws.sqs.send_message(QueueUrl=url, MessageBody="again")
    assert len(local_aws.sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"]) == 1
    # WHEN a 20 s long poll waits on the queue
    poll = Poll(local_aws.sqs, url, 20).start_and_wait_until_waiting(name)
    # THEN it receives the message a second time when its visibility timeout ends, woken once
    assert poll.returned()
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in poll.messages] == ["2"]
    assert long_polls.waits(name) == 1


def test_a_message_made_visible_again_wakes_a_waiting_long_poll(
    local_aws: LocalAws, queue: tuple[str, str]
) -> None:
    # GIVEN a message in flight for 60 s, and a 20 s long poll waiting on its queue
    name, url = queue
    local_aws.sqs.send_message(QueueUrl=url, MessageBody="released")
    (held,) = local_aws.sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"]
    poll = Poll(local_aws.sqs, url, 20).start_and_wait_until_waiting(name)
    # WHEN the message is released (its visibility timeout set to 0)
    local_aws.sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=held["ReceiptHandle"], VisibilityTimeout=0
    )
    # THEN the poll receives it at once, woken once, by the change
    assert poll.returned()
    assert [m["Body"] for m in poll.messages] == ["released"]
    assert long_polls.waits(name) == 1
