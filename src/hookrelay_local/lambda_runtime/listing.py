"""The Lambda client discovery lists through: the two listings parsed by ``json.loads`` alone.

Discovery lists every mapping once a second and every function every fifth second. With 1,000
partners botocore's response parser spends ~50 ms of CPU a listing walking the model for each of the
thousands of fields (40 % of it parsing timestamps the runtime never reads); ``json.loads`` reads the
same answer in ~5 ms. For a successful ``ListEventSourceMappings`` or ``ListFunctions`` this client's
parser returns the JSON as AWS sent it: the same keys botocore gives (rest-json members are not
renamed), with ``LastModified`` of a mapping left as AWS's epoch number instead of a ``datetime``
(discovery compares entries, it never reads the time). An answer byte for byte the same as the
listing's last one is not parsed again: the same object is returned, so discovery can tell at a glance
that nothing changed (the usual case: one idle tick a second). Everything else (errors, the reads of one
function) is parsed by botocore as usual; calls, pagination and ``before-call``/``after-call`` events
are botocore's own, so the calls are counted as any client's.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.session
from botocore.parsers import ResponseParserFactory, RestJSONParser

from hookrelay.aws import clients as aws

LISTINGS = frozenset({"ListEventSourceMappingsResponse", "ListFunctionsResponse"})


class _ListingParser(RestJSONParser):
    def __init__(self, last: dict[str, tuple[bytes, dict[str, Any]]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last = last  # by listing: its last body, parsed (botocore makes a parser per response)

    def parse(self, response: dict[str, Any], shape: Any) -> Any:
        if shape is None or shape.name not in LISTINGS or response["status_code"] != 200:
            return super().parse(response, shape)
        body = response["body"] or b"{}"
        last = self._last.get(shape.name)
        if last is not None and last[0] == body:
            parsed = last[1]  # the same answer as last time: the same object (its reader may skip it)
        else:
            parsed = json.loads(body)
            self._last[shape.name] = (body, parsed)
        headers = response["headers"]
        parsed["ResponseMetadata"] = {
            "RequestId": headers.get("x-amzn-requestid", ""),
            "HTTPStatusCode": 200,
            "HTTPHeaders": headers,
        }
        return parsed


class _ListingParserFactory(ResponseParserFactory):
    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, tuple[bytes, dict[str, Any]]] = {}

    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "rest-json":
            return _ListingParser(self._last, **self._defaults)
        return super().create_parser(protocol_name)


def listing_lambda_client(endpoint_url: str, region: str, access_key: str, secret_key: str) -> Any:
    """A Lambda client (its own botocore session) whose mapping and function listings parse lean."""
    session = botocore.session.get_session()
    session.register_component("response_parser_factory", _ListingParserFactory())
    return boto3.session.Session(botocore_session=session).client(
        "lambda",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=aws.CLIENT_CONFIG,
    )
