"""The inbox consumer without partial batch responses (Chalice's mapping): one unparseable message in a
batch of ten no longer sends the nine good ones back; it alone comes back and ends in the inbox's DLQ.

Driven as Lambda's poller drives it, on moto: real receives of ten, the event Lambda builds, a raise
leaving every record not deleted on the queue, a success deleting the whole batch.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hookrelay.receiving.inbox import BatchFailed, ReceivedWebhook, consume, queue_webhook
from hookrelay_local.lambda_runtime.events import sqs_event

MAX_RECEIVES = 3


def inbox_with_dlq(sqs: Any) -> tuple[str, str, str]:
    dlq = sqs.create_queue(QueueName="inbox-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES})
    url = sqs.create_queue(QueueName="inbox", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq


def poll_once(sqs: Any, url: str, arn: str, process: Any) -> int:
    """Lambda's poller: receive up to ten; on success delete them all; on a raise, delete nothing."""
    received = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        VisibilityTimeout=0,
    ).get("Messages", [])
    if not received:
        return 0
    try:
        consume(sqs_event(received, arn, "us-east-1"), process, partial_batch=False, sqs=sqs)
    except BatchFailed:
        return len(received)
    for message in received:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return len(received)


def test_one_unparseable_message_in_ten_comes_back_alone_and_ends_in_the_dlq(sqs: Any) -> None:
    # GIVEN an inbox (redrive after three receives) holding nine webhooks and one message that is none
    url, arn, dlq = inbox_with_dlq(sqs)
    for n in range(9):
        queue_webhook(url, f"msg_{n}", 1795456800 + n, json.dumps({"n": n}), {"type": "t"}, sqs)
    sqs.send_message(QueueUrl=url, MessageBody="not json, no attributes")
    seen: list[str] = []

    def process(webhook: ReceivedWebhook) -> None:
        seen.append(webhook.webhook_id)

    # WHEN Lambda polls until the queue is empty
    polls = [poll_once(sqs, url, arn, process) for _ in range(MAX_RECEIVES + 2)]
    # THEN the nine were processed exactly once each, at the first poll
    assert Counter(seen) == Counter(f"msg_{n}" for n in range(9))
    assert len(seen) == 9
    # AND only the unparseable one came back, three times, then moved to the DLQ: nothing lost
    assert polls == [10, 1, 1, 0, 0]
    moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in moved] == ["not json, no attributes"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )
