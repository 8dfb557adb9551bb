"""Publishing attempt records to the shared results queue.

A webhook that was delivered must not be delivered again because the *log* of it could not be
written, so publishing is best effort: records that cannot be sent (after one retry of the failed
entries) are logged in full, as JSON, where CloudWatch Logs keeps them, and counted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hookrelay.aws.sqs import send_batch
from hookrelay.models import AttemptRecord

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)
SQS_BATCH = 10


class ResultsPublisher:
    def __init__(self, queue_url: str | None, sqs: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self._sqs = sqs

    def publish(self, records: list[AttemptRecord]) -> int:
        """Send ``records`` in batches of ten; return how many could not be published."""
        if not self.queue_url or not records:
            return 0
        lost = 0
        for start in range(0, len(records), SQS_BATCH):
            chunk = records[start : start + SQS_BATCH]
            bodies = [r.model_dump_json(exclude_none=True) for r in chunk]
            failed = send_batch(self.queue_url, bodies, self._sqs)
            if failed:
                retry = [bodies[i] for i in failed]
                failed = [failed[i] for i in send_batch(self.queue_url, retry, self._sqs)]
            for index in failed:
                lost += 1
                logger.error(
                    "attempt record not published to the results queue",
                    extra={"attempt_record": chunk[index].model_dump(mode="json")},
                )
        return lost
