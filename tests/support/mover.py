"""Helpers for sqs-mv tests: fill a queue, read a whole queue back, and an SQS client that misbehaves."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


def fill(sqs: Any, queue_url: str, count: int, **extra: Any) -> None:
    """Send ``count`` messages whose bodies are ``{"n": i}``; ``extra`` goes into every entry."""
    for start in range(0, count, 10):
        numbers = range(start, min(count, start + 10))
        entries = [{"Id": str(i), "MessageBody": json.dumps({"n": i}), **extra} for i in numbers]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)


def numbers(sqs: Any, queue_url: str) -> list[int]:
    """Every visible message's ``n`` on the queue (received and deleted), sorted; duplicates stay."""
    found: list[int] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        found += [json.loads(m["Body"])["n"] for m in messages]
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    return sorted(found)


def visible(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


class FlakySqs:
    """Wraps a real client; ``on_send(call_number, entries)`` returns the entry ids to fail (or raises).

    Records (by unique body) the receipt handles SQS confirmed a copy of, and those deleted, in call
    order, so a test can check that nothing was deleted before its copy was confirmed.
    """

    def __init__(self, real: Any, on_send: Callable[[int, list[dict[str, Any]]], dict[str, bool]]) -> None:
        self.real, self.on_send = real, on_send
        self.sends = 0
        self.confirmed_handles: set[str] = set()
        self.deleted_handles: list[str] = []
        self.handles: dict[str, str] = {}
        self.events: list[tuple[str, str]] = []  # ("confirmed" | "delete", receipt handle), in call order
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def receive_message(self, **kwargs: Any) -> Any:
        response = self.real.receive_message(**kwargs)
        for message in response.get("Messages", []):
            self.handles[message["Body"]] = message["ReceiptHandle"]
        return response

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        with self._lock:
            self.sends += 1
            call = self.sends
        failing = self.on_send(call, Entries)
        keep = [e for e in Entries if e["Id"] not in failing]
        response = self.real.send_message_batch(QueueUrl=QueueUrl, Entries=keep) if keep else {}
        confirmed = [self.handles[e["MessageBody"]] for e in keep]
        self.confirmed_handles.update(confirmed)
        self.events += [("confirmed", handle) for handle in confirmed]
        codes = {True: "InvalidParameterValue", False: "InternalError"}
        failed = [{"Id": i, "SenderFault": sender, "Code": codes[sender]} for i, sender in failing.items()]
        return {"Successful": response.get("Successful", []), "Failed": failed}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self.deleted_handles.extend(e["ReceiptHandle"] for e in Entries)
        self.events += [("delete", e["ReceiptHandle"]) for e in Entries]
        return self.real.delete_message_batch(QueueUrl=QueueUrl, Entries=Entries)

    def deleted_before_confirmed(self) -> list[str]:
        """Receipt handles a delete named before SQS had confirmed their copy (must be none)."""
        confirmed: set[str] = set()
        early = []
        for kind, handle in list(self.events):
            if kind == "confirmed":
                confirmed.add(handle)
            elif handle not in confirmed:
                early.append(handle)
        return early


class FailingDeletes:
    """Wraps a real client; every DeleteMessageBatch entry fails (SQS's ``Failed`` entries, not an error),
    and each send is counted by message body."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.delete_calls = 0
        self.sent: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self.sent += [e["MessageBody"] for e in Entries]
        return self.real.send_message_batch(QueueUrl=QueueUrl, Entries=Entries)

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self.delete_calls += 1
        failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in Entries]
        return {"Successful": [], "Failed": failed}


def denied(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "not for you"}}, operation)


class AtomicReceives:
    """Wraps a real client so receives are one at a time, as SQS's are: moto's in-process
    ReceiveMessage is not atomic, and two threads can be handed the same message at once."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._lock = threading.Lock()

    def receive_message(self, **kwargs: Any) -> Any:
        with self._lock:
            return self._real.receive_message(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)
