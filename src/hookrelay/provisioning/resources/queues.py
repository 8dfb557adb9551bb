"""A partner's SQS queue and dead-letter queue: ensure, reconfigure, measure, purge, delete."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, MISSING_QUEUE_CODES, aws_error, has_code
from hookrelay.aws.sqs import find_queue_url as sqs_queue_url
from hookrelay.errors import Conflict, DependencyUnavailable
from hookrelay.partners.ordering import is_fifo_queue

if TYPE_CHECKING:
    from types_boto3_sqs.literals import QueueAttributeNameType

RETENTION_SECONDS = 14 * 86_400


@dataclass(frozen=True)
class QueuePair:
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str


def find_queue_url(name: str, clients: Clients) -> str | None:
    return sqs_queue_url(name, clients.sqs)


def queue_arn(url: str, clients: Clients) -> str:
    try:
        attributes = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    except AWS_ERRORS as exc:
        raise aws_error(f"read the ARN of {url}", exc) from exc
    return str(attributes["Attributes"]["QueueArn"])


def _ensure(
    name: str, attributes: dict[QueueAttributeNameType, str], tags: dict[str, str], clients: Clients
) -> str:
    """Create the queue, or bring an existing one to these attributes and tags."""
    try:
        return str(clients.sqs.create_queue(QueueName=name, Attributes=attributes, tags=tags)["QueueUrl"])
    except AWS_ERRORS as exc:
        if has_code(exc, "AWS.SimpleQueueService.QueueDeletedRecently", "QueueDeletedRecently"):
            raise Conflict(
                f"queue {name} was deleted less than 60 s ago: run create again in a minute"
            ) from exc
        if not has_code(exc, "QueueAlreadyExists", "QueueNameExists"):
            raise aws_error(f"create queue {name}", exc) from exc
    url = find_queue_url(name, clients)
    if url is None:
        raise DependencyUnavailable(f"queue {name} exists but cannot be found")
    settable = dict(attributes)
    settable.pop("FifoQueue", None)  # fixed at create
    try:
        clients.sqs.set_queue_attributes(QueueUrl=url, Attributes=settable)
        clients.sqs.tag_queue(QueueUrl=url, Tags=tags)
    except AWS_ERRORS as exc:
        raise aws_error(f"configure queue {name}", exc) from exc
    return url


def ensure_queues(
    name: str, dlq_name: str, visibility: int, max_receives: int, tags: dict[str, str], clients: Clients
) -> QueuePair:
    retention: dict[QueueAttributeNameType, str] = {
        "MessageRetentionPeriod": str(RETENTION_SECONDS),
        **_fifo_attributes(name),
    }
    dlq_url = _ensure(dlq_name, retention, tags, clients)
    dlq_arn = queue_arn(dlq_url, clients)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
    attributes: dict[QueueAttributeNameType, str] = {
        **retention,
        "VisibilityTimeout": str(visibility),
        "RedrivePolicy": redrive,
    }
    url = _ensure(name, attributes, tags, clients)
    arn = f"{dlq_arn.rsplit(':', 1)[0]}:{name}"  # same account and region as its DLQ: no second lookup
    return QueuePair(url=url, arn=arn, dlq_url=dlq_url, dlq_arn=dlq_arn)


def _fifo_attributes(name: str) -> dict[QueueAttributeNameType, str]:
    """A FIFO partner's queue and DLQ (``.fifo``): deduplication by the webhook id the sender gives,
    never by content (two webhooks with equal bodies are two webhooks)."""
    if not is_fifo_queue(name):
        return {}
    return {"FifoQueue": "true", "ContentBasedDeduplication": "false"}


def set_visibility(url: str, seconds: int, clients: Clients) -> None:
    try:
        clients.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(seconds)})
    except AWS_ERRORS as exc:
        raise aws_error("set the queue visibility timeout", exc) from exc


def purge(url: str, clients: Clients) -> None:
    try:
        clients.sqs.purge_queue(QueueUrl=url)
    except AWS_ERRORS as exc:
        raise aws_error("purge the partner queue", exc) from exc


def depths(name: str, clients: Clients) -> dict[str, int] | None:
    """Visible, in-flight and delayed message counts, or None if the queue does not exist."""
    url = find_queue_url(name, clients)
    if url is None:
        return None
    wanted: dict[QueueAttributeNameType, str] = {
        "ApproximateNumberOfMessages": "visible",
        "ApproximateNumberOfMessagesNotVisible": "in_flight",
        "ApproximateNumberOfMessagesDelayed": "delayed",
    }
    try:
        found = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(wanted))
    except AWS_ERRORS as exc:
        raise aws_error(f"read the depth of {name}", exc) from exc
    return {label: int(found["Attributes"].get(key, 0)) for key, label in wanted.items()}


def delete_queue(name: str, clients: Clients) -> bool:
    """Delete a queue if it exists; True when something was removed."""
    url = find_queue_url(name, clients)
    if url is None:
        return False
    try:
        clients.sqs.delete_queue(QueueUrl=url)
    except AWS_ERRORS as exc:
        if has_code(exc, *MISSING_QUEUE_CODES):
            return False
        raise aws_error(f"delete queue {name}", exc) from exc
    return True
