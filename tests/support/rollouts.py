"""Driving update-code's work queue in tests, as Lambda's SQS mapping would (one chunk per invocation)."""

from __future__ import annotations

from typing import Any

from hookrelay import naming
from tests.support.sqs import sqs_event


def run_rollout_worker(client: Any, sqs: Any, stage: str, max_invocations: int = 100) -> int:
    """Deliver each chunk on the stage's work queue to the provisioner app's ``rollout_worker`` through
    ``chalice.test.Client``; a chunk it reports failed becomes visible again (SQS retries it), the others
    are deleted. Returns how many invocations it took to empty the queue."""
    url = sqs.get_queue_url(QueueName=naming.rollout_queue(stage))["QueueUrl"]
    invocations = 0
    while invocations < max_invocations:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0)
        messages = received.get("Messages", [])
        if not messages:
            return invocations
        message = messages[0]
        event = sqs_event([message["Body"]])
        event["Records"][0]["messageId"] = message["MessageId"]
        invocations += 1
        answer = client.lambda_.invoke("rollout_worker", event).payload
        if {"itemIdentifier": message["MessageId"]} in answer["batchItemFailures"]:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError(f"the work queue was not empty after {max_invocations} invocations")
