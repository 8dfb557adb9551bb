"""A partner health notice: what the provisioner publishes to the stage's alarm topic when a partner starts
failing, is paused, or recovers, and what alarm-to-slack turns into a Slack message.

The contract between the two (neither imports the other): a JSON object whose ``source`` is
``hookrelay.partner-health``. It never carries a secret or a webhook's payload: the error is an excerpt of
the attempt's error (its status, kind and text), scrubbed of anything that looks like a credential.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

SOURCE = "hookrelay.partner-health"
ERROR_CHARS = 300
_CREDENTIALS = re.compile(
    r"(whsec_\S+|(?i:(?:authorization|bearer|token|secret|password|api[_-]?key)\s*[:=]?\s*"
    r"(?:bearer\s+|basic\s+)?)\S+)"
)


class NoticeKind(StrEnum):
    FAILING = "failing"
    PAUSED = "paused"
    RECOVERED = "recovered"


def scrub(text: str) -> str:
    """``text`` cut to :data:`ERROR_CHARS`, with whatever looks like a credential replaced."""
    return _CREDENTIALS.sub("[redacted]", text)[:ERROR_CHARS]


class HealthNotice(BaseModel):
    """One notice about one partner (published as JSON on the alarm topic)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    source: Literal["hookrelay.partner-health"] = "hookrelay.partner-health"
    kind: NoticeKind
    stage: str
    partner_id: str
    at: AwareDatetime
    reason: str | None = Field(default=None, description="why it was paused (failing, gone)")
    consecutive_failures: int = 0
    failing_since: AwareDatetime | None = None
    last_success_at: AwareDatetime | None = None
    last_error: str | None = None
    last_status_code: int | None = None
    last_topic: str | None = Field(default=None, description="the topic of the last failed webhook")
    resume_command: str | None = None

    @field_validator("last_error")
    @classmethod
    def _scrubbed(cls, value: str | None) -> str | None:
        return None if value is None else scrub(value)

    @property
    def subject(self) -> str:
        """The SNS subject (at most 100 characters)."""
        return f"hookrelay {self.stage}: partner {self.partner_id} {self.kind.value}"[:100]


def parse_health_notice(message: str) -> HealthNotice | None:
    """The notice in an SNS message, or None when it is something else (an alarm)."""
    if SOURCE not in message:
        return None
    try:
        return HealthNotice.model_validate_json(message)
    except ValidationError:
        return None


def resume_command(stage: str, partner_id: str) -> str:
    """How an operator resumes the partner: the REST call, or the provisioner's Lambda function."""
    return (
        f"POST /partners/{partner_id}/enable  (or: aws lambda invoke --function-name "
        f"hookrelay-provisioner-{stage}-enable --cli-binary-format raw-in-base64-out "
        f'--payload \'{{"partner_id": "{partner_id}"}}\' /dev/stdout)'
    )
