"""A partner subscription: what the operator asks for, what is stored, and what derives from it.

The function timeout and the queue visibility timeout are not settings: they follow from the post
concurrency and the HTTP timeouts, so a slow batch can finish and is never delivered twice at once.

Concurrency: a partner's ceiling is its mapping's ``MaximumConcurrency`` (``max_concurrency``), which
reserves nothing from the account. ``reserved_concurrency`` (guaranteed capacity, taken from the
account's pool, whose last 100 stay unreserved) and ``provisioned_concurrency`` (warm instances on the
``live`` alias) are opt-in. A partner stored before ``max_concurrency`` existed had its mapping's
ceiling equal to its reservation, and the reservation was required (default 2): it loads with
``max_concurrency`` equal to that reservation and *keeps* the reservation, so a deploy changes nothing
a running partner has (see :meth:`Partner._stored_before_ceilings`).
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from hookrelay import naming
from hookrelay.errors import UnsafeDestination
from hookrelay.models import PartnerId, UtcDatetime, utcnow
from hookrelay.partners.pacing import PACE_WAIT_SECONDS
from hookrelay.retry import RetryPolicy
from hookrelay.ssrf import validate_url

BATCH_SIZE = 10
TIMEOUT_MARGIN_SECONDS = 10
MAX_FUNCTION_TIMEOUT = 900
VISIBILITY_FACTOR = 6
MAX_CONCURRENCY = 1000  # AWS's range for an SQS mapping's MaximumConcurrency is 2-1000
MAX_RATE = 10_000  # requests per second a partner's pacing may be set to
EVENT_TYPE_PATTERN = r"^(\*|[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}(\.\*)?)$"

EventType = Annotated[str, StringConstraints(pattern=EVENT_TYPE_PATTERN)]


def _url(value: str) -> str:
    """The URL's shape (scheme, host, no credentials); where it resolves is checked when it is used."""
    try:
        validate_url(value)
    except UnsafeDestination as exc:
        raise ValueError(exc.message) from exc
    return value


Url = Annotated[str, AfterValidator(_url)]


class PartnerStatus(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    DISABLED = "disabled"
    PAUSED = "paused"  # stopped by its health (docs/partner-health.md); POST /partners/{id}/enable resumes


class Pause(BaseModel):
    """Why a partner's health paused it: shown while its status is ``paused``."""

    reason: str = Field(description="failing (the thresholds were crossed) or gone (410)")
    paused_at: UtcDatetime
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, description="the last failed attempt's error (excerpt)")
    last_topic: str | None = Field(default=None, description="the topic of the last failed webhook")


class DeliveryOptions(BaseModel):
    """Every setting an operator may choose at create and change with update."""

    model_config = ConfigDict(extra="forbid")

    url: Url = Field(description="where webhooks are POSTed (http or https, a public address)")
    event_types: list[EventType] = Field(
        default_factory=list, description="accepted topics ('invoice.paid', 'invoice.*'); empty: all"
    )
    max_concurrency: int = Field(
        default=2, ge=2, le=MAX_CONCURRENCY, description="the mapping's ceiling of handler instances"
    )
    reserved_concurrency: int | None = Field(
        default=None, ge=2, le=MAX_CONCURRENCY, description="opt-in: instances reserved from the account"
    )
    provisioned_concurrency: int | None = Field(
        default=None, ge=1, le=MAX_CONCURRENCY, description="opt-in: warm instances on the live alias"
    )
    post_concurrency: int = Field(default=5, ge=1, le=BATCH_SIZE, description="parallel POSTs per batch")
    connect_timeout: float = Field(default=5.0, gt=0, le=30)
    read_timeout: float = Field(default=15.0, gt=0, le=60)
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    legacy_signature: bool = Field(default=False, description="also send X-Request-Signature-SHA-256")
    max_requests_per_second: float | None = Field(
        default=None,
        gt=0,
        le=MAX_RATE,
        description="opt-in: the partner never sees more (docs/partner-pacing.md)",
    )
    adaptive_rate: bool = Field(
        default=False, description="halve the rate on 429/503, climb back on successes (AIMD)"
    )
    pause_after_failures: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="pause after this many failed attempts in a row "
        "(and pause_after_hours without a success); null: the stage's setting (400)",
    )
    pause_after_hours: float | None = Field(
        default=None,
        ge=0,
        le=24 * 365,
        description="...and this long since the last success; null: the stage's setting (24)",
    )
    gone_pauses: bool | None = Field(
        default=None, description="a 410 Gone pauses the partner at once; null: the stage's setting (true)"
    )
    ordering: Literal["none", "fifo"] = Field(
        default="none",
        description="fifo: a FIFO queue; webhooks of one ordering key arrive in publish order "
        "(docs/ordering.md); set at create only",
    )
    block_on_failure: bool = Field(
        default=False,
        description="fifo only: after the last attempt the group stays stopped instead of dead-lettering",
    )

    @model_validator(mode="after")
    def _concurrency_fits(self) -> DeliveryOptions:
        reserved, provisioned = self.reserved_concurrency, self.provisioned_concurrency
        if reserved is not None and reserved < self.max_concurrency:
            raise ValueError(
                f"reserved_concurrency ({reserved}) is below max_concurrency ({self.max_concurrency}): "
                "the mapping would be throttled; raise the reservation or lower max_concurrency"
            )
        if reserved is not None and provisioned is not None and provisioned > reserved:
            raise ValueError(
                f"provisioned_concurrency ({provisioned}) exceeds reserved_concurrency ({reserved})"
            )
        return self

    @model_validator(mode="after")
    def _blocking_needs_order(self) -> DeliveryOptions:
        if self.block_on_failure and self.ordering != "fifo":
            raise ValueError('block_on_failure needs "ordering": "fifo" (an unordered partner never blocks)')
        if self.ordering == "fifo" and (self.max_requests_per_second is not None or self.adaptive_rate):
            raise ValueError(
                "pacing (max_requests_per_second, adaptive_rate) does not apply to an ordered partner: "
                "each ordering key is one POST at a time (docs/ordering.md)"
            )
        return self

    def claimed_concurrency(self) -> int:
        """What the partner takes from the account's concurrency: its reservation (which holds any
        provisioned instances), else its provisioned instances, else nothing."""
        return max(self.reserved_concurrency or 0, self.provisioned_concurrency or 0)


class PartnerCreate(DeliveryOptions):
    partner_id: PartnerId

    @field_validator("partner_id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        return naming.check_partner_id(value)


class Partner(DeliveryOptions):
    """A partner as stored in the partners table (never holds a secret)."""

    model_config = ConfigDict(extra="ignore")

    partner_id: PartnerId
    status: PartnerStatus = PartnerStatus.PROVISIONING
    created_at: UtcDatetime = Field(default_factory=utcnow)
    updated_at: UtcDatetime = Field(default_factory=utcnow)
    gone_at: UtcDatetime | None = Field(default=None, description="when the endpoint last answered 410")
    last_error: str | None = Field(default=None, description="why the last create or update stopped")
    code_key: str | None = Field(default=None, description="the handler artifact the function runs")
    pause: Pause | None = Field(default=None, description="why and when its health paused it (status paused)")
    resumed_at: UtcDatetime | None = Field(default=None, description="when it was last enabled after a pause")
    attempt_filter_at: UtcDatetime | None = Field(
        default=None, description="when its log group was subscribed to the attempt recorder (attempt lines)"
    )

    @model_validator(mode="before")
    @classmethod
    def _stored_before_ceilings(cls, data: object) -> object:
        """A partner stored before ``max_concurrency`` existed: its mapping's ceiling was its reservation
        (required then, default 2). It keeps both: the reservation is capacity the operator had, maybe
        chose, and that AWS still holds for it; dropping it silently on a deploy could starve a payments
        partner when the account gets busy. Release it on purpose: PATCH {"reserved_concurrency": null}."""
        if isinstance(data, dict) and "max_concurrency" not in data:
            reserved = data.get("reserved_concurrency")
            if isinstance(reserved, int):
                return {**data, "max_concurrency": max(2, reserved)}
        return data

    def options(self) -> DeliveryOptions:
        return DeliveryOptions.model_validate(self.model_dump(include=set(DeliveryOptions.model_fields)))

    def accepts(self, topic: str) -> bool:
        """True when ``topic`` matches one of the event types (or none are set)."""
        if not self.event_types:
            return True
        for pattern in self.event_types:
            if pattern in ("*", topic):
                return True
            if pattern.endswith(".*") and topic.startswith(pattern[:-1]):
                return True
        return False

    def touched(self, now: datetime | None = None, **changes: object) -> Partner:
        return self.model_validate({**self.model_dump(), **changes, "updated_at": now or utcnow()})


def function_timeout(options: DeliveryOptions) -> int:
    """Seconds a batch of ten may take: rounds of parallel POSTs, each up to connect + read, plus margin."""
    rounds = math.ceil(BATCH_SIZE / options.post_concurrency)
    per_post = options.connect_timeout + options.read_timeout
    waits = PACE_WAIT_SECONDS if pace_ceiling(options) is not None else 0
    return min(MAX_FUNCTION_TIMEOUT, math.ceil(rounds * per_post) + TIMEOUT_MARGIN_SECONDS + waits)


def visibility_timeout(options: DeliveryOptions) -> int:
    """At least six times the function timeout (AWS's advice for SQS event sources)."""
    return VISIBILITY_FACTOR * function_timeout(options)


def pace_ceiling(options: DeliveryOptions) -> float | None:
    """The rate a paced partner never exceeds: ``max_requests_per_second``, or (adaptive without one)
    ten requests per second per POST its concurrency allows (100 ms answers); None: not paced."""
    if options.max_requests_per_second is not None:
        return options.max_requests_per_second
    if options.adaptive_rate:
        return float(10 * options.post_concurrency * options.max_concurrency)
    return None
