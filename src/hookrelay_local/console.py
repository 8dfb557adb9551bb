"""The live console of `make run`: deliveries as they happen, per-partner queues, retries, dead letters.

Attempts are collected from the handler's own "delivery attempt" log lines (the same structured
records CloudWatch would get); queue depths come from SQS every second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from hookrelay import naming

ATTEMPT_MESSAGE = "delivery attempt"
OUTCOME_STYLE = {"delivered": "green", "retry_scheduled": "yellow", "dead_lettered": "red", "gone": "magenta"}


@dataclass
class QueueDepth:
    queued: int = 0
    in_flight: int = 0
    delayed: int = 0
    dead_letters: int = 0


@dataclass
class Board:
    """Everything the console shows, kept up to date by AttemptFeed and poll_depths."""

    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=12))
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    depths: dict[str, QueueDepth] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, attempt: dict[str, Any]) -> None:
        with self.lock:
            self.recent.appendleft(attempt)
            self.outcomes.setdefault(str(attempt.get("partner_id")), Counter())[
                str(attempt.get("outcome"))
            ] += 1

    def partners(self) -> list[str]:
        with self.lock:
            return sorted(set(self.outcomes) | set(self.depths))


class AttemptFeed(logging.Handler):
    """A logging handler that puts every delivery attempt on the board."""

    def __init__(self, board: Board) -> None:
        super().__init__(level=logging.INFO)
        self.board = board

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() != ATTEMPT_MESSAGE:
            return
        fields = (
            "webhook_id",
            "partner_id",
            "attempt",
            "status_code",
            "duration_ms",
            "outcome",
            "error_kind",
        )
        self.board.record({name: getattr(record, name, None) for name in fields} | {"at": time.time()})


def poll_depths(board: Board, sqs: Any, stage: str) -> None:
    """Read every partner queue's and dead-letter queue's approximate counts."""
    urls = sqs.list_queues(QueueNamePrefix=naming.prefix(stage) + "-").get("QueueUrls", [])
    depths: dict[str, QueueDepth] = {}
    for url in urls:
        name = url.rsplit("/", 1)[-1]
        partner = naming.partner_from_name(name)
        if partner is None:
            continue
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
        depth = depths.setdefault(partner, QueueDepth())
        if name.endswith("-dlq"):
            depth.dead_letters = int(attributes.get("ApproximateNumberOfMessages", 0))
        else:
            depth.queued = int(attributes.get("ApproximateNumberOfMessages", 0))
            depth.in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
            depth.delayed = int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))
    with board.lock:
        board.depths = depths


def render(board: Board, header: str) -> Any:
    """The rich renderable for one frame."""
    from rich.console import Group
    from rich.table import Table

    partners = Table(title=header, expand=True)
    for column in (
        "partner",
        "queued",
        "in flight",
        "delayed",
        "DLQ",
        "delivered",
        "retries",
        "dead",
        "gone",
    ):
        partners.add_column(column, justify="left" if column == "partner" else "right")
    for partner in board.partners():
        depth = board.depths.get(partner, QueueDepth())
        counts = board.outcomes.get(partner, Counter())
        partners.add_row(
            partner,
            str(depth.queued),
            str(depth.in_flight),
            str(depth.delayed),
            f"[red]{depth.dead_letters}[/]" if depth.dead_letters else "0",
            str(counts["delivered"]),
            str(counts["retry_scheduled"]),
            str(counts["dead_lettered"]),
            str(counts["gone"]),
        )
    recent = Table(title="latest attempts", expand=True)
    for column in ("time", "partner", "webhook", "attempt", "status", "ms", "outcome"):
        recent.add_column(column)
    with board.lock:
        rows = list(board.recent)
    for attempt in rows:
        outcome = str(attempt.get("outcome"))
        recent.add_row(
            time.strftime("%H:%M:%S", time.localtime(attempt["at"])),
            str(attempt.get("partner_id")),
            str(attempt.get("webhook_id")),
            str(attempt.get("attempt")),
            str(attempt.get("status_code") or attempt.get("error_kind") or ""),
            str(attempt.get("duration_ms")),
            f"[{OUTCOME_STYLE.get(outcome, 'white')}]{outcome}[/]",
        )
    return Group(partners, recent)
