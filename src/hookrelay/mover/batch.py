"""The three batch calls of a move: send (confirmed entries only), delete, and release.

- :func:`send_confirmed` returns exactly the entries SQS confirmed, retrying the failed entries that
  were not the sender's fault (and whole-request failures) with a short backoff.
- :func:`delete_messages` deletes by receipt handle and returns what could not be deleted: those were
  sent, so they will reappear on the source; the engine then deletes them again, never re-sends them.
- :func:`release` makes held messages (skipped, failed, dry run) visible again at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from hookrelay.aws.errors import AWS_ERRORS, error_code
from hookrelay.aws.sqs import queue_name
from hookrelay.errors import HookrelayError
from hookrelay.mover.messages import Outgoing, pack
from hookrelay.mover.queues import domain_error, is_fatal

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.type_defs import (
        DeleteMessageBatchRequestEntryTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

logger = logging.getLogger(__name__)
Sleep = Callable[[float], None]


class Receipt(Protocol):
    """A received message, as a delete needs it."""

    @property
    def message_id(self) -> str: ...
    @property
    def receipt_handle(self) -> str: ...


R = TypeVar("R", bound=Receipt)


@dataclass
class SendResult:
    confirmed: list[Outgoing] = field(default_factory=list)
    failed: list[tuple[Outgoing, str]] = field(default_factory=list)
    fatal: HookrelayError | None = None
    """Why the destination refuses every message (missing queue, no permission), if it does."""


def backoff(attempts: int, sleep: Sleep, base: float = 0.2) -> Iterable[int]:
    """``range(attempts)``, sleeping ``base * 2**attempt`` before every attempt but the first."""
    for attempt in range(attempts):
        if attempt:
            sleep(base * 2**attempt)
        yield attempt


def send_confirmed(
    sqs: SQSClient, dest: str, items: list[Outgoing], attempts: int, sleep: Sleep = time.sleep
) -> SendResult:
    result = SendResult()
    for chunk in pack(items):
        pending = {str(i): item for i, item in enumerate(chunk)}
        reason = "not sent"
        for _ in backoff(attempts, sleep):
            entries = [{"Id": key, **item.entry} for key, item in pending.items()]
            try:
                response = sqs.send_message_batch(
                    QueueUrl=dest, Entries=cast("list[SendMessageBatchRequestEntryTypeDef]", entries)
                )
            except AWS_ERRORS as exc:
                error = domain_error(exc, dest, "send messages")
                reason = error.message
                if is_fatal(error):
                    result.fatal = error
                    break
                continue
            for sent in response.get("Successful", []):
                result.confirmed.append(pending.pop(sent["Id"]))
            for failed in response.get("Failed", []):
                reason = f"send to {queue_name(dest)}: {failed.get('Code')} {failed.get('Message', '')}"
                if failed.get("SenderFault"):
                    result.failed.append((pending.pop(failed["Id"]), reason.strip()))
            if not pending:
                break
        result.failed.extend((item, reason.strip()) for item in pending.values())
    return result


def delete_messages(
    sqs: SQSClient, queue_url: str, items: list[R], attempts: int = 3, sleep: Sleep = time.sleep
) -> list[R]:
    """Delete ``items`` from the source; return those that could not be deleted."""
    left: list[R] = []
    for start in range(0, len(items), 10):
        pending = {str(i): item for i, item in enumerate(items[start : start + 10])}
        for _ in backoff(attempts, sleep):
            entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
                {"Id": key, "ReceiptHandle": item.receipt_handle} for key, item in pending.items()
            ]
            try:
                response = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
            except AWS_ERRORS as exc:
                logger.warning("delete failed", extra={"queue": queue_url, "code": error_code(exc)})
                continue
            for done in response.get("Successful", []):
                pending.pop(done["Id"], None)
            if not pending:
                break
        left.extend(pending.values())
    for item in left:
        logger.error(
            "sent but not deleted: it will reappear on the source (a duplicate)",
            extra={"message_id": item.message_id, "queue": queue_url},
        )
    return left
