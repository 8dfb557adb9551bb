"""Reading a message attribute: one helper for ReceiveMessage's shape and the Lambda event's shape."""

from __future__ import annotations

from typing import Any

import pytest

from hookrelay.aws.sqs import string_attribute


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"WebhookId": {"DataType": "String", "StringValue": "msg_1"}}, "msg_1"),  # ReceiveMessage
        ({"WebhookId": {"dataType": "String", "stringValue": "msg_1"}}, "msg_1"),  # Lambda SQS record
        ({}, None),  # absent
        ({"WebhookId": {"DataType": "Binary", "BinaryValue": b"\x00"}}, None),  # not a string
        ({"WebhookId": "msg_1"}, None),  # not an attribute object at all
    ],
    ids=["receive-message", "lambda-record", "absent", "binary", "malformed"],
)
def test_a_string_attribute_is_read_from_either_shape(
    attributes: dict[str, Any], expected: str | None
) -> None:
    assert string_attribute(attributes, "WebhookId") == expected
