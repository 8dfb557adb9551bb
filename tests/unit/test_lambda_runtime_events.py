"""How the local Lambda runtime shapes SQS events and reads partial batch responses (no AWS)."""

from __future__ import annotations

from typing import Any

import pytest

from hookrelay.aws.sqs_event import SqsEvent
from hookrelay_local.lambda_runtime.events import InvalidBatchResponse, reported_failures, sqs_event
from hookrelay_local.lambda_runtime.invokers import FunctionConfig
from hookrelay_local.lambda_runtime.poller import MappingConfig

ARN = "arn:aws:sqs:us-east-1:123456789012:acme"
IDS = ["m1", "m2", "m3"]


def received(message_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": f"rh-{message_id}",
        "MD5OfBody": "md5",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1700000000000"},
        **extra,
    }


def test_message_attributes_take_lambdas_lower_camel_form() -> None:
    # GIVEN a received message with a string and a binary attribute
    message = received(
        "m1",
        MessageAttributes={
            "Kind": {"DataType": "String", "StringValue": "x"},
            "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
        MD5OfMessageAttributes="md5attrs",
    )

    # WHEN it becomes an event record
    (record,) = sqs_event([message], ARN, "eu-west-1")["Records"]

    # THEN the attributes read as Lambda writes them, binary as base64
    assert record["messageAttributes"] == {
        "Kind": {"stringValue": "x", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "Blob": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    assert (record["md5OfMessageAttributes"], record["awsRegion"], record["eventSourceARN"]) == (
        "md5attrs",
        "eu-west-1",
        ARN,
    )


def test_the_event_is_what_the_handler_parses() -> None:
    # GIVEN two received messages WHEN shaped into an event
    event = sqs_event([received("m1"), received("m2")], ARN, "us-east-1")

    # THEN hookrelay's handler model reads ids, receipt handles and receive counts from it
    records = SqsEvent.model_validate(event).records
    assert [(r.message_id, r.receipt_handle, r.receive_count) for r in records] == [
        ("m1", "rh-m1", 3),
        ("m2", "rh-m2", 3),
    ]


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}, {"m1", "m3"}),
    ],
    ids=["null", "empty-object", "null-list", "empty-list", "one", "two"],
)
def test_a_valid_partial_batch_response_names_the_records_that_stay(response: Any, failed: set[str]) -> None:
    assert reported_failures(response, IDS) == failed


@pytest.mark.parametrize(
    "response",
    [
        "text",
        ["m1"],
        {"batchItemFailures": {"itemIdentifier": "m1"}},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"id": "m1"}]},
        {"batchItemFailures": ["m1"]},
        {"batchItemFailures": [{"itemIdentifier": "elsewhere"}]},
        {"batchItemFailures": [{"itemIdentifier": "m1"}], "x": object()},
    ],
    ids=["string", "list", "not-list", "null-id", "empty-id", "bad-key", "bare-id", "unknown-id", "not-json"],
)
def test_an_invalid_partial_batch_response_fails_the_whole_batch(response: Any) -> None:
    with pytest.raises(InvalidBatchResponse):
        reported_failures(response, IDS)


def test_mapping_settings_come_from_the_lambda_api() -> None:
    # GIVEN a ListEventSourceMappings entry WHEN read THEN every honoured setting is taken
    mapping = MappingConfig.from_api(
        {
            "UUID": "u",
            "EventSourceArn": ARN,
            "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "State": "Disabled",
            "BatchSize": 4,
            "MaximumBatchingWindowInSeconds": 2,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 3},
        }
    )
    assert (mapping.enabled, mapping.batch_size, mapping.batching_window_s) == (False, 4, 2.0)
    assert (mapping.report_item_failures, mapping.maximum_concurrency) == (True, 3)


def test_a_function_version_changes_with_its_environment_or_code() -> None:
    config = {"FunctionName": "f", "FunctionArn": "arn", "Handler": "app.deliver", "CodeSha256": "a"}
    base = FunctionConfig.from_api({**config, "Environment": {"Variables": {"A": "1"}}}, None)
    same = FunctionConfig.from_api({**config, "Environment": {"Variables": {"A": "1"}}}, 2)
    env = FunctionConfig.from_api({**config, "Environment": {"Variables": {"A": "2"}}}, None)
    code = FunctionConfig.from_api(
        {**config, "CodeSha256": "b", "Environment": {"Variables": {"A": "1"}}}, None
    )
    assert base.version == same.version
    assert len({base.version, env.version, code.version}) == 3
    assert (base.timeout, same.reserved_concurrency) == (3.0, 2)
