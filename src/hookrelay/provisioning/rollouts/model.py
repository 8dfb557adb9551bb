"""What update-code reads and answers: the request, a rollout's state, a partner's result, a chunk."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from hookrelay.errors import InvalidInput
from hookrelay.models import PartnerId, UtcDatetime

ROLLOUT_ID = re.compile(r"^[0-9]{8}t[0-9]{6}-[0-9a-f]{6}$")


def new_rollout_id(now: datetime) -> str:
    """Sortable by start time, unique: ``20261201t030512-a1b2c3``."""
    return f"{now:%Y%m%dt%H%M%S}-{secrets.token_hex(3)}"


def check_rollout_id(rollout_id: str) -> str:
    if not ROLLOUT_ID.fullmatch(rollout_id):
        raise InvalidInput(f"rollout id {rollout_id!r} is not one POST /update-code returned")
    return rollout_id


class RolloutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_ids: list[PartnerId] | None = Field(default=None, description="default: every partner")
    canary: int | None = Field(
        default=None,
        ge=1,
        description="update this many partners first, then wait for POST /rollouts/{id}/continue",
    )


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # already on the target code


class PartnerResult(BaseModel):
    partner_id: str
    outcome: Outcome
    version: int | None = Field(default=None, description="the version live now points at")
    previous_version: int | None = Field(default=None, description="live's version before (rollback)")
    previous_code_key: str | None = Field(default=None, description="the artifact it ran before")
    code_sha256: str | None = None
    error: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.FAILED


class Header(BaseModel):
    """The stored description of a rollout (its counts are kept beside it, updated per result)."""

    rollout_id: str
    code_key: str
    total: int
    created_at: UtcDatetime
    canary: int | None = None
    rollback_of: str | None = Field(default=None, description="the rollout this one undoes")
    held: int = Field(default=0, description="partners waiting for the canary to pass (chunks stored aside)")


Status = Literal["running", "canary", "done"]


class RolloutState(BaseModel):
    rollout_id: str
    status: Status
    code_key: str
    total: int
    succeeded: int
    failed: int
    skipped: int
    canary: int | None = None
    rollback_of: str | None = None
    created_at: UtcDatetime
    results: list[PartnerResult] = Field(description="a page of per-partner results, by partner id")
    next_cursor: str | None = Field(default=None, description="pass as ?cursor= for the next page")


class Chunk(BaseModel):
    """One work message: partners to move to ``code_key`` for rollout ``rollout_id``."""

    model_config = ConfigDict(extra="forbid")

    rollout_id: str
    code_key: str
    layers: tuple[str, ...] = Field(default=(), description="the layer versions that code runs with")
    partner_ids: list[PartnerId] = Field(min_length=1)
    rollback_of: str | None = Field(default=None, description="move live back to what this rollout replaced")
