"""The lean ReceiveMessage (aws.wire.SqsWire) answers exactly as botocore's client does, and the runtime's
handlers call AWS through the same lean caller, as in Lambda."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from hookrelay.aws.wire import SecretsWire, SqsWire
from hookrelay.settings import HandlerSettings
from hookrelay_local.lambda_runtime.invokers import DELIVER_HANDLER, DeliverInvoker, FunctionConfig
from hookrelay_local.lambda_runtime.receive import LeanReceiver
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime, local_credentials
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


def test_the_runtimes_handlers_call_aws_through_the_lean_caller_as_in_lambda(local_aws: LocalAws) -> None:
    # GIVEN a local runtime on the embedded AWS (not started)
    runtime = LocalLambdaRuntime(local_aws.endpoint_url, local_aws.region)
    # WHEN a partner's handler dependencies are built from its function's environment
    deliver = runtime.invokers[DELIVER_HANDLER]
    assert isinstance(deliver, DeliverInvoker)
    settings = HandlerSettings(
        partner_id="acme",
        partner_url="https://acme.example/hooks",
        queue_url=f"{local_aws.endpoint_url}/123456789012/hookrelay-dev-acme",
        dead_letter_queue_url=f"{local_aws.endpoint_url}/123456789012/hookrelay-dev-acme-dlq",
        secret_id="hookrelay/dev/acme",
    )
    arn = "arn:aws:lambda:us-east-1:123456789012:function:hookrelay-dev-acme"
    function = FunctionConfig(
        "hookrelay-dev-acme", arn, DELIVER_HANDLER, environment=settings.to_environment()
    )
    deps = deliver.deps_for(function)
    # THEN its sends and its secret read go through aws.wire's clients, the receives' own SQS caller
    assert deps.sqs is runtime.receiver.sqs
    assert isinstance(deps.sqs, SqsWire)
    assert isinstance(deps.keys._secretsmanager, SecretsWire)
