"""The Lambda SQS event, as pydantic models, and the partial batch response.

Why not Powertools' parser (``aws_lambda_powertools.utilities.parser.models.SqsModel``), measured here
with ``python -X importtime`` on top of what every app already imports (pydantic, the kernel, Powertools'
logging): importing it costs 6-9 ms, since ``parser.models`` loads the models of every event source
(ALB, API Gateway, Kinesis, S3, ...); this module costs ~3 ms. And SqsModel requires fields we never read
(``md5OfBody``, ``SentTimestamp``, ``SenderId``, ``ApproximateFirstReceiveTimestamp``): an event without
one fails the *whole* batch, where ours needs only ``messageId`` and ``body`` per record, so a poison
record fails alone. We read five fields; a 30-line model of those is cheaper than the general one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SqsRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_id: str = Field(alias="messageId")
    receipt_handle: str = Field(default="", alias="receiptHandle")
    body: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    message_attributes: dict[str, Any] = Field(default_factory=dict, alias="messageAttributes")
    event_source_arn: str = Field(default="", alias="eventSourceARN")

    @property
    def receive_count(self) -> int:
        try:
            return int(self.attributes.get("ApproximateReceiveCount", 1))
        except (TypeError, ValueError):
            return 1


class SqsEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    records: list[SqsRecord] = Field(alias="Records")


def batch_response(failed_message_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """The ReportBatchItemFailures answer: only these messages stay on the queue."""
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed_message_ids]}
