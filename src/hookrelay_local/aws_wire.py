"""AWS on the wire, as much as a fault-injecting proxy needs: which call a request is, and error answers
in each protocol's own format, so botocore parses (and classifies) them as it would AWS's.

Identifying a call is cheap: the service is in the SigV4 credential scope of ``Authorization``; the
operation is in ``X-Amz-Target`` (JSON protocols: SQS, DynamoDB, Secrets Manager, Logs), in the path
(Smithy RPC v2 CBOR: CloudWatch), in the form body's ``Action=`` (query: IAM, SNS, STS) or in the method
and path, matched against botocore's own service model (REST: Lambda, S3).

Error answers, per protocol (what AWS sends; botocore's standard retry mode retries them all):

- throttling: SQS ``RequestThrottled`` (JSON, query-compatible ``x-amzn-query-error``), DynamoDB
  ``ProvisionedThroughputExceededException`` on item calls and ``ThrottlingException`` otherwise, Lambda
  ``TooManyRequestsException`` (429), S3 ``SlowDown`` (503), query services ``Throttling``;
- a server error: HTTP 500 with ``InternalFailure`` (``ServiceException`` for Lambda, ``InternalError``
  for S3).
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_CBOR_PATH = re.compile(r"^/service/[^/]+/operation/([^/?]+)")
# Signing names that are not the botocore model's name (the ones hookrelay calls).
SIGNING_NAMES = {
    "monitoring": "cloudwatch",
    "tagging": "resourcegroupstaggingapi",
    "servicequotas": "service-quotas",
}
DYNAMODB_ITEM_CALLS = frozenset(
    {
        *("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"),
        *("BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems"),
    }
)


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name: sqs, dynamodb, lambda, secretsmanager, iam, s3, cloudwatch, ...
    operation: str  # the API's name: SendMessage, PutItem, CreateFunction, ...
    protocol: str = "json"  # as the request was sent: json, smithy-rpc-v2-cbor, query, rest-json, rest-xml

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def identify(method: str, target: str, headers: dict[str, str], body: bytes) -> Call:
    """Which AWS call an HTTP request is (``target``: the request line's path and query)."""
    scope = _SCOPE.search(headers.get("authorization", ""))
    service = SIGNING_NAMES.get(scope.group(1), scope.group(1)) if scope else "unknown"
    amz_target = headers.get("x-amz-target")
    if amz_target:
        return Call(service, amz_target.rsplit(".", 1)[-1], "json")
    cbor = _CBOR_PATH.match(target)
    if cbor:
        return Call(service, cbor.group(1), "smithy-rpc-v2-cbor")
    if "x-www-form-urlencoded" in headers.get("content-type", ""):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return Call(service, action[0], "query")
    return Call(service, _rest_operation(service, method, target), _model_protocol(service))


def _rest_operation(service: str, method: str, target: str) -> str:
    split = urlsplit(target)
    keys = set(parse_qs(split.query, keep_blank_values=True))
    for route in _routes(service):
        if route.method == method and route.path.match(split.path) and route.query <= keys:
            return route.operation
    return f"{method} {split.path}"


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    path: re.Pattern[str]
    query: frozenset[str]
    weight: tuple[int, int]


@functools.cache
def _routes(service: str) -> list[_Route]:
    """The service's REST routes from botocore's model, most specific first (static text, query keys)."""
    try:
        model = _session().get_service_model(service)
    except Exception:
        return []
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri, _, query = str(http.get("requestUri", "/")).partition("?")
        static = re.sub(r"\{[^}]+\}", "", uri)
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(uri))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        keys = frozenset(k.split("=")[0] for k in query.split("&") if k)
        weight = (len(keys), len(static))
        routes.append(_Route(name, http["method"], re.compile(f"^{pattern}/?$"), keys, weight))
    return sorted(routes, key=lambda r: r.weight, reverse=True)


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


@functools.cache
def _model_protocol(service: str) -> str:
    try:
        return str(_session().get_service_model(service).protocol)
    except Exception:
        return "json"


def throttling(call: Call) -> Answer:
    """The throttling error AWS answers ``call`` with, in the service's wire format."""
    if call.service == "dynamodb":
        code = "ProvisionedThroughputExceededException" if call.operation in DYNAMODB_ITEM_CALLS else ""
        return _error(
            call, 400, code or "ThrottlingException", "Rate of requests exceeds the allowed throughput"
        )
    if call.service == "lambda":
        return _error(
            call, 429, "TooManyRequestsException", "Rate exceeded", Reason="CallerRateLimitExceeded"
        )
    if call.service == "s3":
        return _error(call, 503, "SlowDown", "Please reduce your request rate.")
    if call.service == "sqs":
        return _error(call, 400, "ThrottlingException", "Rate exceeded", query_code="RequestThrottled")
    return _error(
        call, 400, "Throttling" if call.protocol == "query" else "ThrottlingException", "Rate exceeded"
    )


def server_error(call: Call) -> Answer:
    """An HTTP 500 in the service's wire format."""
    code = {"lambda": "ServiceException", "s3": "InternalError"}.get(call.service, "InternalFailure")
    return _error(
        call, 500, code, "We encountered an internal error. Please try again.", query_code="InternalError"
    )


def _error(call: Call, status: int, code: str, message: str, query_code: str = "", **extra: str) -> Answer:
    request_id = str(uuid.uuid4())
    kind = call.protocol
    headers = {"x-amzn-RequestId": request_id}
    if kind in ("query", "rest-xml"):
        party = "Sender" if status < 500 else "Receiver"
        error = f"<Type>{party}</Type><Code>{code}</Code><Message>{message}</Message>"
        text = (
            f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
            if kind == "rest-xml"
            else f"<ErrorResponse><Error>{error}</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Answer(status, {**headers, "Content-Type": "text/xml"}, text.encode())
    if kind == "smithy-rpc-v2-cbor":
        headers |= {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
        return Answer(status, headers, cbor_text_map({"__type": code, "message": message}))
    if kind == "rest-json":
        headers |= {"Content-Type": "application/json", "x-amzn-ErrorType": code}
        return Answer(status, headers, json.dumps({"Type": "User", "message": message, **extra}).encode())
    if query_code and call.service == "sqs":
        fault = "Sender" if status < 500 else "Receiver"
        headers["x-amzn-query-error"] = f"{query_code};{fault}"
    headers["Content-Type"] = "application/x-amz-json-1.0"
    return Answer(status, headers, json.dumps({"__type": code, "message": message}).encode())


def cbor_text_map(values: dict[str, str]) -> bytes:
    """A CBOR map of short text strings (all an error body needs)."""

    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        return bytes([major << 5 | 24, n]) if n < 256 else bytes([major << 5 | 25]) + n.to_bytes(2, "big")

    out = head(5, len(values))
    for key, value in values.items():
        for text in (key.encode(), value.encode()):
            out += head(3, len(text)) + text
    return out
