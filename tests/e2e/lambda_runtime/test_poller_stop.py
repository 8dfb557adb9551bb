"""A poller stopped while its long poll is open gives back what that poll receives (moto server)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from hookrelay_local.lambda_runtime.invokers import FunctionConfig
from hookrelay_local.lambda_runtime.poller import MappingConfig, MappingPoller, PollerOptions
from hookrelay_local.lambda_runtime.stats import RuntimeStats
from tests.support.lambda_runtime import LocalAws

pytestmark = pytest.mark.e2e


class ReceiverAnsweringAfterTheStop:
    """Holds its first long poll open until the test has stopped the poller, then receives for real."""

    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs
        self.stopped = threading.Event()

    def receive(self, queue_url: str, max_messages: int, wait_seconds: int) -> list[dict[str, Any]]:
        assert self.stopped.wait(10)
        answer = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=max_messages)
        return list(answer.get("Messages", []))


def test_what_a_long_poll_receives_after_the_stop_is_not_invoked_and_visible_again_at_once(
    local_aws: LocalAws,
) -> None:
    # GIVEN a queue whose messages stay hidden for 60 s once received, holding one message
    sqs = local_aws.sqs
    queue_url = sqs.create_queue(QueueName="stopping", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="hello")
    invoked: list[dict[str, Any]] = []
    receiver = ReceiverAnsweringAfterTheStop(sqs)
    function = FunctionConfig(
        name="stopping", arn="arn:aws:lambda:us-east-1:123456789012:function:stopping", handler="x"
    )
    poller = MappingPoller(
        MappingConfig(uuid="m", queue_arn=arn, function_arn=function.arn),
        function,
        lambda event, _function: invoked.append(event),
        sqs,
        receiver,  # type: ignore[arg-type]
        RuntimeStats(),
        PollerOptions(),
    ).start()
    # WHEN the poller is stopped while its long poll is open, and that poll then receives the message
    poller.stop()
    receiver.stopped.set()
    assert wait_until(lambda: poller.done)
    # THEN it was not invoked, and it is visible again now, not in 60 s
    assert invoked == []
    again = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in again] == ["hello"]


def wait_until(condition: Any, seconds: float = 10.0) -> bool:
    done = threading.Event()
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        done.wait(0.05)
    return bool(condition())
