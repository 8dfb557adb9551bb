"""One received message, seen by the mover: does it match, and what exactly is sent for it.

- Filters: ``attr.NAME=VALUE`` / ``attr.NAME~PART`` on message attributes, ``body.a.b=VALUE`` /
  ``body.a.b~PART`` on JSON body fields (dotted path), ``body~PART`` on the raw body.
- What is sent: the body (or, with ``reset_attempts``, a hookrelay :class:`WebhookMessage` body with a
  fresh :class:`DeliveryState`), every message attribute except hookrelay's dead-letter attributes when
  the message goes back to its origin (the dead-lettering is over), and for a FIFO destination the group
  id (the source's, or the source message id) and a deduplication id (the source message id: unique to
  this copy, so a resend after a crash is dropped by SQS instead of delivered twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from hookrelay.aws.sqs import (
    DEAD_LETTERED_AT_ATTRIBUTE,
    ORIGIN_ATTRIBUTE,
    REASON_ATTRIBUTE,
    queue_name,
    string_attribute,
)
from hookrelay.models import DeliveryState, WebhookMessage

DEAD_LETTER_ATTRIBUTES = frozenset({REASON_ATTRIBUTE, ORIGIN_ATTRIBUTE, DEAD_LETTERED_AT_ATTRIBUTE})
_ATTRIBUTE_KEYS = ("DataType", "StringValue", "BinaryValue")
_MISSING = object()


class MessageFilter(BaseModel):
    model_config = ConfigDict(frozen=True)

    target: str
    op: Literal["=", "~"]
    value: str

    def matches(self, message: dict[str, Any]) -> bool:
        found = self._lookup(message)
        if found is None:
            return False
        return found == self.value if self.op == "=" else self.value in found

    def _lookup(self, message: dict[str, Any]) -> str | None:
        kind, _, path = self.target.partition(".")
        if kind == "attr":
            return string_attribute(message.get("MessageAttributes", {}), path)
        if not path:
            return str(message["Body"])
        try:
            value: Any = json.loads(message["Body"])
        except ValueError:
            return None
        for key in path.split("."):
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
            if value is _MISSING:
                return None
        return value if isinstance(value, str) else json.dumps(value)


def parse_filter(text: str) -> MessageFilter:
    """``attr.NAME=VALUE``, ``body.PATH~PART``, ``body~PART``: raises ValueError when malformed."""
    cut = min((i for i in (text.find("="), text.find("~")) if i > 0), default=-1)
    target = text[:cut] if cut > 0 else ""
    kind, dot, path = target.partition(".")
    if cut < 0 or kind not in ("attr", "body") or (kind == "attr" and not path) or (dot and not path):
        raise ValueError(f"bad filter {text!r}: use attr.NAME=VALUE, body.FIELD=VALUE or body~TEXT")
    return MessageFilter(target=target, op=text[cut], value=text[cut + 1 :])


@dataclass
class Outgoing:
    """A received message and the SendMessageBatch entry made from it."""

    message_id: str
    receipt_handle: str
    dest: str
    entry: dict[str, Any]
    reset: bool = False
    not_webhook: bool = False

    @property
    def size(self) -> int:
        """Bytes SQS counts against the batch payload limit (body plus attributes)."""
        total = len(self.entry["MessageBody"].encode())
        for name, attribute in self.entry.get("MessageAttributes", {}).items():
            value = attribute.get("StringValue") or attribute.get("BinaryValue") or b""
            total += len(name) + len(attribute["DataType"]) + len(value)
        return total


def outgoing(message: dict[str, Any], dest: str, *, reset_attempts: bool) -> Outgoing:
    """The entry that re-creates ``message`` on ``dest`` (``Id`` is set when batching)."""
    body = str(message["Body"])
    reset = not_webhook = False
    if reset_attempts:
        try:
            body = WebhookMessage.model_validate_json(body).with_delivery(DeliveryState()).to_sqs_body()
            reset = True
        except ValidationError:
            not_webhook = True
    attributes = message.get("MessageAttributes", {})
    back_home = _is_origin(attributes, dest)
    entry: dict[str, Any] = {"MessageBody": body}
    kept = {
        name: {k: v for k, v in attribute.items() if k in _ATTRIBUTE_KEYS}
        for name, attribute in attributes.items()
        if not (back_home and name in DEAD_LETTER_ATTRIBUTES)
    }
    if kept:
        entry["MessageAttributes"] = kept
    if queue_name(dest).endswith(".fifo"):
        system = message.get("Attributes", {})
        entry["MessageGroupId"] = system.get("MessageGroupId") or message["MessageId"]
        entry["MessageDeduplicationId"] = message["MessageId"]
    return Outgoing(message["MessageId"], message["ReceiptHandle"], dest, entry, reset, not_webhook)


def is_fifo(queue_url: str) -> bool:
    return queue_name(queue_url).endswith(".fifo")


def group_of(item: Outgoing) -> str:
    return str(item.entry.get("MessageGroupId", ""))


def fifo_rounds(items: list[Outgoing]) -> list[list[Outgoing]]:
    """``items`` (in receive order) as successive rounds holding at most one message per group: round
    ``k`` has the ``k``-th message of each group, so each group's messages go out in order, one
    request after another."""
    rounds: list[list[Outgoing]] = []
    seen: dict[str, int] = {}
    for item in items:
        k = seen.get(group_of(item), 0)
        seen[group_of(item)] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(item)
    return rounds


def origin_of(message: dict[str, Any]) -> str | None:
    """The origin queue URL hookrelay wrote on a dead-lettered message, if any."""
    return string_attribute(message.get("MessageAttributes", {}), ORIGIN_ATTRIBUTE) or None


def _is_origin(attributes: dict[str, Any], dest: str) -> bool:
    origin = string_attribute(attributes, ORIGIN_ATTRIBUTE)
    return origin is not None and origin != "" and queue_name(origin) == queue_name(dest)


def pack(items: list[Outgoing], max_bytes: int = 262_144) -> list[list[Outgoing]]:
    """Split into SendMessageBatch requests: at most 10 entries and ``max_bytes`` of payload each."""
    batches: list[list[Outgoing]] = []
    current: list[Outgoing] = []
    size = 0
    for item in items:
        if current and (len(current) == 10 or size + item.size > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += item.size
    if current:
        batches.append(current)
    return batches
