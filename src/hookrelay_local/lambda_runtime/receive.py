"""A lean ``ReceiveMessage``: SQS's JSON protocol over urllib3, signed by botocore's SigV4 signer.

The pollers' long polls are nearly all the runtime's idle work: 1,000 partners are ~50 idle
``ReceiveMessage`` a second (one per partner per 20 s, the longest long poll SQS allows). Through a
botocore client each costs ~2 ms of CPU, about half of it per-call machinery the runtime does not
need (building the user agent twice, parameter validation, a dozen event hooks, the response parser);
this path costs ~1 ms (most of it the loopback TCP connection moto's server closes after each answer).

It is the real SQS API, not a shortcut around it: ``POST /`` with ``X-Amz-Target:
AmazonSQS.ReceiveMessage`` and an ``application/x-amz-json-1.0`` body (the protocol botocore itself
speaks to SQS), signed with Signature Version 4 by botocore's own signer, so it works against moto,
LocalStack or AWS alike. Answers come back shaped as botocore's (``MessageAttributes`` binary values
decoded to bytes), errors as botocore's ``ClientError`` with the same ``Error.Code`` botocore would
give (``QueueDoesNotExist``, ``AWS.SimpleQueueService.NonExistentQueue``...), so callers cannot tell
the difference. Only the runtime's ``ReceiveMessage`` goes this way; deletes and the handlers' sends
stay on botocore.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET = "AmazonSQS.ReceiveMessage"
CONNECT_TIMEOUT_S = 5.0
READ_MARGIN_S = 10.0  # a long poll of W seconds is given W + this to answer
# As botocore's standard mode: connection errors (e.g. a listen backlog full when 1,000 long polls
# start at once) and 5xx answers are retried with jittered backoff, 5 attempts in all.
RETRIES = urllib3.Retry(
    total=4,
    backoff_factor=0.1,
    backoff_jitter=0.1,
    status_forcelist=(500, 502, 503, 504),
    allowed_methods=None,  # POST too: a lost receive only delays its messages by the visibility timeout
    raise_on_status=False,
)


class LeanReceiver:
    """``receive(queue_url, max_messages, wait_seconds)`` -> botocore-shaped messages (thread-safe)."""

    def __init__(self, endpoint_url: str, region: str, credentials: Credentials, pool: int) -> None:
        self._url = endpoint_url.rstrip("/") + "/"
        self._signer = SigV4Auth(credentials, "sqs", region)
        self._http = urllib3.PoolManager(num_pools=4, maxsize=pool, retries=RETRIES)
        self._lock = threading.Lock()
        self.calls = 0  # ReceiveMessage requests sent so far (a bench or test may count them)

    def receive(self, queue_url: str, max_messages: int, wait_seconds: int) -> list[dict[str, Any]]:
        """One ReceiveMessage asking for every system and message attribute; raises ClientError."""
        body = json.dumps(
            {
                "QueueUrl": queue_url,
                "MaxNumberOfMessages": max_messages,
                "WaitTimeSeconds": wait_seconds,
                "MessageSystemAttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            }
        ).encode()
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET}
        request = AWSRequest(method="POST", url=self._url, data=body, headers=headers)
        self._signer.add_auth(request)
        with self._lock:
            self.calls += 1
        response = self._http.request(
            "POST",
            self._url,
            body=body,
            headers=dict(request.headers.items()),
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=wait_seconds + READ_MARGIN_S),
        )
        answer = json.loads(response.data or b"{}")
        if response.status != 200:
            raise ClientError({"Error": _error(answer, response.headers)}, "ReceiveMessage")  # type: ignore[arg-type]
        return [_as_botocore(message) for message in answer.get("Messages", [])]


def _error(answer: dict[str, Any], headers: Any) -> dict[str, str]:
    """The error code as botocore's JSON parser reads it: the query-compatible header first."""
    query_error = headers.get("x-amzn-query-error", "")
    code = query_error.split(";", 1)[0] if query_error else str(answer.get("__type", "")).rsplit("#", 1)[-1]
    return {"Code": code or "Unknown", "Message": str(answer.get("message") or answer.get("Message") or "")}


def _as_botocore(message: dict[str, Any]) -> dict[str, Any]:
    """Binary attribute values arrive base64-encoded in JSON; botocore hands them over as bytes."""
    for value in (message.get("MessageAttributes") or {}).values():
        if "BinaryValue" in value:
            value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
        if "BinaryListValues" in value:
            value["BinaryListValues"] = [base64.b64decode(v) for v in value["BinaryListValues"]]
    return message
