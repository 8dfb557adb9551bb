"""The lean ReceiveMessage (SQS JSON protocol over urllib3) answers exactly as botocore's client does."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from hookrelay_local.lambda_runtime.receive import LeanReceiver
from hookrelay_local.lambda_runtime.runtime import local_credentials
from tests.support.lambda_runtime import LocalAws

pytestmark = pytest.mark.e2e

PER_RECEIVE = ("ReceiptHandle",)  # differs on every receive
PER_RECEIVE_ATTRIBUTES = ("ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp")


def comparable(message: dict[str, Any]) -> dict[str, Any]:
    attributes = {k: v for k, v in message["Attributes"].items() if k not in PER_RECEIVE_ATTRIBUTES}
    return {**{k: v for k, v in message.items() if k not in PER_RECEIVE}, "Attributes": attributes}


def test_a_message_with_string_and_binary_attributes_reads_as_botocore_reads_it(local_aws: LocalAws) -> None:
    # GIVEN a message with a string and a binary message attribute
    queue_url = local_aws.sqs.create_queue(QueueName="lean")["QueueUrl"]
    local_aws.sqs.send_message(
        QueueUrl=queue_url,
        MessageBody='{"n": 1}',
        MessageAttributes={
            "Kind": {"DataType": "String", "StringValue": "test"},
            "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        },
    )
    receiver = LeanReceiver(local_aws.endpoint_url, local_aws.region, local_credentials(), pool=2)

    # WHEN the lean receiver receives it, and botocore receives it again once it is visible again
    (lean,) = receiver.receive(queue_url, 10, 1)
    local_aws.sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=lean["ReceiptHandle"], VisibilityTimeout=0
    )
    (boto,) = local_aws.sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )["Messages"]

    # THEN both read the same message, binary value as bytes, and the lean one was counted
    assert comparable(lean) == comparable(boto)
    assert lean["MessageAttributes"]["Blob"]["BinaryValue"] == b"\x00\x01\xff"
    assert lean["Attributes"]["ApproximateReceiveCount"] == "1"
    assert receiver.calls == 1


def test_a_missing_queue_raises_the_error_code_botocore_raises(local_aws: LocalAws) -> None:
    # GIVEN a queue URL whose queue was deleted
    queue_url = local_aws.sqs.create_queue(QueueName="lean-gone")["QueueUrl"]
    local_aws.sqs.delete_queue(QueueUrl=queue_url)
    receiver = LeanReceiver(local_aws.endpoint_url, local_aws.region, local_credentials(), pool=2)

    # WHEN both receive from it
    with pytest.raises(ClientError) as boto:
        local_aws.sqs.receive_message(QueueUrl=queue_url)
    with pytest.raises(ClientError) as lean:
        receiver.receive(queue_url, 10, 0)

    # THEN the lean receiver's ClientError carries botocore's code
    assert lean.value.response["Error"]["Code"] == boto.value.response["Error"]["Code"]
    assert lean.value.operation_name == "ReceiveMessage"
