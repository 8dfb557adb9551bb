"""The runtime's ``ReceiveMessage``: the lean SQS caller the delivery handler uses in Lambda
(:class:`hookrelay.aws.wire.SqsWire`: SQS's JSON protocol over urllib3, SigV4-signed, botocore's answers,
errors and retries), asking for every system and message attribute, and counting its calls.

The pollers' long polls are nearly all the runtime's idle work: 1,000 partners are ~50 idle
``ReceiveMessage`` a second (one per partner per 20 s, the longest long poll SQS allows). Through a
botocore client each costs ~2 ms of CPU, about half of it per-call machinery the runtime does not need
(the user agent built twice, parameter validation, a dozen event hooks, the response parser). The same
caller also carries the local handlers' sends and secret reads (``runtime.LocalLambdaRuntime``), so
``make run`` delivers through the code Lambda runs.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.credentials import Credentials

from hookrelay.aws.wire import SqsWire


class LeanReceiver:
    """``receive(queue_url, max_messages, wait_seconds)`` -> botocore-shaped messages (thread-safe)."""

    def __init__(
        self, endpoint_url: str, region: str, credentials: Credentials, pool: int, sqs: SqsWire | None = None
    ) -> None:
        self.sqs = sqs or SqsWire(endpoint_url, region, credentials, pool_size=pool)
        self._lock = threading.Lock()
        self.calls = 0  # ReceiveMessage requests sent so far (a bench or test may count them)

    def receive(self, queue_url: str, max_messages: int, wait_seconds: int) -> list[dict[str, Any]]:
        """One ReceiveMessage asking for every system and message attribute; raises ClientError."""
        with self._lock:
            self.calls += 1
        answer = self.sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages
