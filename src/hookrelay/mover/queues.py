"""The queues of a move: resolve a name or URL, read its counts, find a DLQ's source queue.

Every botocore error becomes one clear domain error naming the queue: :class:`NotFound` for a queue
that does not exist, :class:`PermissionDenied` for AccessDenied, :class:`DependencyUnavailable` else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookrelay.aws import clients as aws
from hookrelay.aws.errors import AWS_ERRORS, DENIED_CODES, MISSING_QUEUE_CODES, aws_error
from hookrelay.aws.sqs import queue_name
from hookrelay.errors import HookrelayError

FATAL_CODES = MISSING_QUEUE_CODES | DENIED_CODES


@dataclass(frozen=True)
class QueueInfo:
    url: str
    arn: str

    @property
    def name(self) -> str:
        return queue_name(self.url)

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")


def domain_error(exc: Exception, queue: str, doing: str) -> HookrelayError:
    """The clear error for a failed call on ``queue`` (a name or URL)."""
    name = queue_name(queue)
    return aws_error(
        f"{doing} on queue {name}",
        exc,
        missing=f"queue {name} does not exist (or is in another account or region)",
    )


def resolve_queue(name_or_url: str, sqs: Any | None = None) -> QueueInfo:
    """The queue's URL and ARN; raises NotFound or PermissionDenied with the queue named."""
    client = sqs or aws.client("sqs")
    url = name_or_url
    try:
        if not name_or_url.startswith(("http://", "https://")):
            url = str(client.get_queue_url(QueueName=name_or_url)["QueueUrl"])
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    except AWS_ERRORS as exc:
        raise domain_error(exc, url, "read attributes") from exc
    return QueueInfo(url=url, arn=str(attributes["QueueArn"]))


def approximate_count(queue_url: str, sqs: Any | None = None) -> int:
    """Messages visible now plus those delayed (they become visible later), approximately."""
    client = sqs or aws.client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
    try:
        attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    except AWS_ERRORS as exc:
        raise domain_error(exc, queue_url, "read attributes") from exc
    return sum(int(attributes.get(name, 0)) for name in names)


def single_source_queue(dlq_url: str, sqs: Any | None = None) -> str | None:
    """The one queue whose RedrivePolicy names this DLQ; None when there are none or several."""
    client = sqs or aws.client("sqs")
    try:
        urls = client.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    except AWS_ERRORS:
        return None
    return str(urls[0]) if len(urls) == 1 else None
