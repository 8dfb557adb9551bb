"""The queues of a move: resolve a name or URL, read its counts, find a DLQ's source queue.

Every botocore error becomes one clear domain error naming the queue: :class:`NotFound` for a queue
that does not exist, :class:`PermissionDenied` for AccessDenied, :class:`DependencyUnavailable` else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookrelay.aws import clients as aws
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.aws.sqs import lookup_queue_url, missing_queue, queue_name
from hookrelay.errors import HookrelayError, NotFound, PermissionDenied

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.literals import QueueAttributeFilterType


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
    return aws_error(f"{doing} on queue {name}", exc, missing=missing_queue(name))


def is_fatal(error: HookrelayError) -> bool:
    """A queue that is missing or denied refuses every message: retrying cannot help."""
    return isinstance(error, NotFound | PermissionDenied)


def resolve_queue(name_or_url: str, sqs: SQSClient | None = None) -> QueueInfo:
    """The queue's URL and ARN; raises NotFound or PermissionDenied with the queue named."""
    client = sqs or aws.client("sqs")
    is_url = name_or_url.startswith(("http://", "https://"))
    url = name_or_url if is_url else lookup_queue_url(name_or_url, client)
    try:
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    except AWS_ERRORS as exc:
        raise domain_error(exc, url, "read attributes") from exc
    return QueueInfo(url=url, arn=str(attributes["QueueArn"]))


def approximate_count(url: str, sqs: SQSClient | None = None) -> int:
    """Messages visible now plus those delayed (they become visible later), approximately."""
    client = sqs or aws.client("sqs")
    names: list[QueueAttributeFilterType] = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
    ]
    try:
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    except AWS_ERRORS as exc:
        raise domain_error(exc, url, "read attributes") from exc
    return sum(int(value) for name, value in attributes.items() if name in names)


def single_source_queue(dlq_url: str, sqs: SQSClient | None = None) -> str | None:
    """The one queue whose RedrivePolicy names this DLQ; None when there are none or several."""
    client = sqs or aws.client("sqs")
    try:
        urls = client.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    except AWS_ERRORS:
        return None
    return str(urls[0]) if len(urls) == 1 else None
