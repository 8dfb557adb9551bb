"""Ordered delivery (``ordering: "fifo"``): what a FIFO partner's queues are called and how a webhook is
sent onto them. Shared by provisioning (create, status, delete) and every publish path (the partner's
``/events`` and any stage-wide router), so all of them name and send alike (docs/ordering.md).

- The queues: the partner's usual names plus ``.fifo`` (SQS requires the suffix), content-based
  deduplication off: the webhook id is the ``MessageDeduplicationId``.
- The message group: the ``ordering_key`` the producer gave, else one partner-wide group (every webhook
  of the partner in publish order).
- The redrive ``maxReceiveCount`` of a FIFO queue is SQS's maximum: a message waiting for its retry (or
  behind the failing head of its group) is received again and again without being attempted, and must
  never reach the dead-letter queue that way; the handler dead-letters it itself after its last attempt.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import StringConstraints

from hookrelay import naming

FIFO_SUFFIX = ".fifo"
FIFO_MAX_RECEIVE_COUNT = 1000  # SQS's largest redrive maxReceiveCount
PARTNER_WIDE_GROUP = "_partner"  # the group of the webhooks published without an ordering key
# SQS: MessageGroupId is 1-128 characters of alphanumerics and punctuation.
ORDERING_KEY_PATTERN = r"^[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}$"

OrderingKey = Annotated[str, StringConstraints(pattern=ORDERING_KEY_PATTERN)]
Ordering = Literal["none", "fifo"]


def is_fifo(ordering: str) -> bool:
    return ordering == "fifo"


def is_fifo_queue(name_or_url: str) -> bool:
    """True for a FIFO queue's name, URL or ARN (they all end in ``.fifo``)."""
    return name_or_url.endswith(FIFO_SUFFIX)


def queue_name(stage: str, partner_id: str, ordering: str = "none") -> str:
    name = naming.partner_queue(stage, partner_id)
    return name + FIFO_SUFFIX if is_fifo(ordering) else name


def dead_letter_queue_name(stage: str, partner_id: str, ordering: str = "none") -> str:
    name = naming.partner_dead_letter_queue(stage, partner_id)
    return name + FIFO_SUFFIX if is_fifo(ordering) else name


def all_queue_names(stage: str, partner_id: str) -> tuple[str, ...]:
    """Every queue a partner may own, either ordering (delete and status try each)."""
    return tuple(
        name(stage, partner_id, ordering)
        for ordering in ("none", "fifo")
        for name in (queue_name, dead_letter_queue_name)
    )


def max_receive_count(ordering: str, standard: int) -> int:
    """The partner queue's redrive ``maxReceiveCount``: the stage's for a standard queue, SQS's
    maximum for a FIFO one (receives there are not attempts: module docstring)."""
    return FIFO_MAX_RECEIVE_COUNT if is_fifo(ordering) else standard


def group_id(ordering_key: str | None) -> str:
    """The message group of a webhook: its ordering key, else the partner-wide group."""
    return ordering_key or PARTNER_WIDE_GROUP


def fifo_send_params(ordering: str, webhook_id: str, ordering_key: str | None) -> dict[str, str]:
    """The extra ``SendMessage`` parameters a webhook needs on a partner queue of this ordering:
    none for an unordered partner; the group and the deduplication id (the webhook id) for a FIFO one.
    An ordering key sent to an unordered partner is ignored (nothing to keep in order)."""
    if not is_fifo(ordering):
        return {}
    return {"MessageGroupId": group_id(ordering_key), "MessageDeduplicationId": webhook_id}


def migration_hint(partner_id: str, ordering: str) -> str:
    """What a 409 on changing ``ordering`` says to do instead."""
    return (
        f"ordering cannot change on a live partner (its queue type is fixed at create). To migrate "
        f'{partner_id!r} to {ordering!r}: create a new partner with "ordering": {ordering!r} for the same '
        f"url, publish to it, let the old partner's queue drain, then delete the old one "
        f"(docs/ordering.md, migrating)"
    )


MAX_DEDUP_ID = 128  # SQS's MessageDeduplicationId length


def again_dedup_id(webhook_id: str, again: str) -> str:
    """The deduplication id of a webhook sent again (resend, replay ``again``): not the webhook id, which
    SQS drops for 5 minutes after the first send; the same ``again`` twice is one send (a replay step
    delivered twice). Over 128 characters it is the pair's SHA-256 instead."""
    dedup = f"{webhook_id}/{again}"
    return dedup if len(dedup) <= MAX_DEDUP_ID else hashlib.sha256(dedup.encode()).hexdigest()
