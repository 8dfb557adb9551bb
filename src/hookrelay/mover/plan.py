"""A move's plan: its request with the queues resolved (source, destination, and the origin a DLQ's
messages go back to when they carry none), checked before anything is received."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookrelay.errors import InvalidInput
from hookrelay.mover.queues import QueueInfo, resolve_queue
from hookrelay.mover.queues import single_source_queue as dlq_source
from hookrelay.mover.request import MoveRequest

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient


@dataclass(frozen=True)
class MovePlan:
    request: MoveRequest
    source: QueueInfo
    dest: QueueInfo | None
    fallback_origin: str | None = None


def prepare_move(request: MoveRequest, sqs: SQSClient | None = None) -> MovePlan:
    """Resolve the queues; raises NotFound, PermissionDenied, or InvalidInput (source == dest)."""
    source = resolve_queue(request.source, sqs)
    dest = resolve_queue(request.dest, sqs) if request.dest else None
    if dest is not None and dest.arn == source.arn:
        raise InvalidInput(f"source and dest are the same queue ({source.name})")
    fallback = dlq_source(source.url, sqs) if request.to_origin else None
    return MovePlan(request, source, dest, fallback)
