"""The Lambda SQS event, as pydantic models, and the partial batch response."""

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
