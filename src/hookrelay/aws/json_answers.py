"""What AWS answered a JSON-protocol call, read as botocore reads it (for :mod:`hookrelay.aws.json_protocol`):
a success's members and ``ResponseMetadata``, an error's ``Error.Code`` (the query-compatible code first),
a network failure as the botocore exception botocore raises for it, and which codes standard-mode retries
treat as throttling or transient.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import urllib3
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

THROTTLED_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})


def json_object(data: bytes) -> dict[str, Any]:
    """A success's JSON body; nothing for a body that is not a JSON object (botocore's parser keeps none
    of the members it knows from one)."""
    try:
        found = json.loads(data) if data else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def metadata(response: urllib3.BaseHTTPResponse, attempt: int) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in response.headers.items()}
    found = {"RequestId": headers["x-amzn-requestid"]} if "x-amzn-requestid" in headers else {}
    return {**found, "HTTPStatusCode": response.status, "HTTPHeaders": headers, "RetryAttempts": attempt - 1}


def error_response(response: urllib3.BaseHTTPResponse, attempt: int) -> dict[str, Any]:
    """The error as botocore's JSON parser reads it (a bodiless or HTML 5xx: the status as the code)."""
    answered = metadata(response, attempt)
    data = (response.data or b"").strip()
    if response.status >= 500 and (not data or data.startswith(b"<html>")):
        error = {"Code": str(response.status), "Message": http.client.responses.get(response.status, "")}
        return {"Error": error, "ResponseMetadata": answered}
    try:
        body = json.loads(data) if data else {}
    except ValueError:
        body = {"message": data.decode("utf-8", "replace")}
    body = body if isinstance(body, dict) else {}
    error = {"Message": str(body.get("message", body.get("Message", ""))), "Code": ""}
    code = str(body.get("__type", response.status)).split(":", 1)[0].rsplit("#", 1)[-1]
    query_error = str(response.headers.get("x-amzn-query-error", "")).split(";")
    if len(query_error) == 2 and query_error[0]:
        error.update(QueryErrorCode=code, Type=query_error[1])
        code = query_error[0]
    error["Code"] = code
    return {"Error": error, "ResponseMetadata": answered}


def network_error(exc: urllib3.exceptions.HTTPError, endpoint_url: str) -> Exception:
    """The botocore exception botocore raises for the same failure (its message names the endpoint only)."""
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # a ConnectTimeoutError subclass
        return EndpointConnectionError(endpoint_url=endpoint_url)
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return ConnectTimeoutError(endpoint_url=endpoint_url)
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return ReadTimeoutError(endpoint_url=endpoint_url)
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return ConnectionClosedError(endpoint_url=endpoint_url)
    return EndpointConnectionError(endpoint_url=endpoint_url)
