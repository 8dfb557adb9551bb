"""CloudWatch alarm notifications, as SNS delivers them, and what hookrelay reads from them.

One model covers every shape CloudWatch sends: single-metric alarms (``Trigger.MetricName``),
metric-math alarms (``Trigger.Metrics``), anomaly-detection alarms (``Trigger.ThresholdMetricId``
naming an ``ANOMALY_DETECTION_BAND`` expression) and composite alarms (``AlarmRule`` and
``TriggeringChildren``, no ``Trigger``). Unknown fields are ignored: AWS adds them over time.

A stage alarm (``hookrelay-<stage>-partners-<kind>``) is a Metrics Insights query grouped by queue or
function name: CloudWatch notifies per *contributor* (one partner's time series) as well as for the
alarm. A contributor notification carries the contributor's attributes (its dimensions); we read them
from ``AlarmContributor`` (``Id``/``Attributes``, as the API's AlarmContributor and the EventBridge
event spell them). An alarm-level notification names no partner: forwarding then asks CloudWatch which
contributors are in ALARM (:mod:`hookrelay.alarms.contributors`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from hookrelay import naming
from hookrelay.errors import InvalidInput, validation_message
from hookrelay.models import UtcDatetime

PARTNER_DIMENSIONS = ("QueueName", "FunctionName")
_ALARM_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):cloudwatch:(?P<region>[a-z0-9-]+):\d*:alarm:(?P<name>.+)$"
)


class AlarmState(StrEnum):
    ALARM = "ALARM"
    OK = "OK"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class AlarmShape(StrEnum):
    SINGLE_METRIC = "single_metric"
    METRIC_MATH = "metric_math"
    ANOMALY_DETECTION = "anomaly_detection"
    COMPOSITE = "composite"


class _Aws(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Dimension(_Aws):
    # SNS notifications spell these in lower case; the CloudWatch API in Pascal case.
    name: str = Field(validation_alias=AliasChoices("name", "Name"))
    value: str = Field(validation_alias=AliasChoices("value", "Value"))


class Metric(_Aws):
    metric_name: str = Field(alias="MetricName")
    namespace: str | None = Field(default=None, alias="Namespace")
    dimensions: list[Dimension] = Field(default_factory=list, alias="Dimensions")


class MetricStat(_Aws):
    metric: Metric = Field(alias="Metric")
    period: int | None = Field(default=None, alias="Period")
    stat: str | None = Field(default=None, alias="Stat")
    unit: str | None = Field(default=None, alias="Unit")


class MetricQuery(_Aws):
    """One entry of ``Trigger.Metrics``: a metric (``MetricStat``) or an ``Expression``."""

    id: str = Field(alias="Id")
    expression: str | None = Field(default=None, alias="Expression")
    label: str | None = Field(default=None, alias="Label")
    metric_stat: MetricStat | None = Field(default=None, alias="MetricStat")
    return_data: bool = Field(default=True, alias="ReturnData")


class Trigger(_Aws):
    metric_name: str | None = Field(default=None, alias="MetricName")
    namespace: str | None = Field(default=None, alias="Namespace")
    statistic: str | None = Field(default=None, alias="Statistic")
    extended_statistic: str | None = Field(default=None, alias="ExtendedStatistic")
    unit: str | None = Field(default=None, alias="Unit")
    dimensions: list[Dimension] = Field(default_factory=list, alias="Dimensions")
    metrics: list[MetricQuery] = Field(default_factory=list, alias="Metrics")
    period: int | None = Field(default=None, alias="Period")
    evaluation_periods: int | None = Field(default=None, alias="EvaluationPeriods")
    datapoints_to_alarm: int | None = Field(default=None, alias="DatapointsToAlarm")
    comparison_operator: str | None = Field(default=None, alias="ComparisonOperator")
    threshold: float | None = Field(default=None, alias="Threshold")
    threshold_metric_id: str | None = Field(default=None, alias="ThresholdMetricId")
    treat_missing_data: str | None = Field(default=None, alias="TreatMissingData")

    def query(self, query_id: str | None) -> MetricQuery | None:
        return next((q for q in self.metrics if q.id == query_id), None)

    def all_dimensions(self) -> list[Dimension]:
        nested = [d for q in self.metrics if q.metric_stat for d in q.metric_stat.metric.dimensions]
        return [*self.dimensions, *nested]


class Contributor(_Aws):
    """One time series of a multi-time-series alarm: its id and its dimensions."""

    id: str | None = Field(default=None, validation_alias=AliasChoices("Id", "id", "ContributorId"))
    attributes: dict[str, str] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("Attributes", "attributes", "ContributorAttributes"),
    )


class ChildState(_Aws):
    value: AlarmState = Field(alias="Value")
    timestamp: UtcDatetime | None = Field(default=None, alias="Timestamp")


class TriggeringChild(_Aws):
    arn: str = Field(alias="Arn")
    state: ChildState | None = Field(default=None, alias="State")

    @property
    def alarm_name(self) -> str:
        match = _ALARM_ARN.match(self.arn)
        return match.group("name") if match else self.arn.rsplit(":", 1)[-1]


class AlarmNotification(_Aws):
    """The JSON CloudWatch publishes to SNS when an alarm changes state."""

    alarm_name: str = Field(alias="AlarmName", min_length=1)
    alarm_description: str | None = Field(default=None, alias="AlarmDescription")
    account_id: str | None = Field(default=None, alias="AWSAccountId")
    new_state: AlarmState = Field(alias="NewStateValue")
    old_state: AlarmState | None = Field(default=None, alias="OldStateValue")
    reason: str = Field(default="", alias="NewStateReason")
    state_change_time: UtcDatetime = Field(alias="StateChangeTime")
    region_name: str | None = Field(default=None, alias="Region")
    alarm_arn: str | None = Field(default=None, alias="AlarmArn")
    trigger: Trigger | None = Field(default=None, alias="Trigger")
    alarm_rule: str | None = Field(default=None, alias="AlarmRule")
    triggering_children: list[TriggeringChild] = Field(default_factory=list, alias="TriggeringChildren")
    contributor: Contributor | None = Field(
        default=None, validation_alias=AliasChoices("AlarmContributor", "alarmContributor")
    )

    @property
    def shape(self) -> AlarmShape:
        if self.alarm_rule is not None or self.trigger is None:
            return AlarmShape.COMPOSITE
        if self.trigger.threshold_metric_id is not None:
            return AlarmShape.ANOMALY_DETECTION
        if self.trigger.metrics:
            return AlarmShape.METRIC_MATH
        return AlarmShape.SINGLE_METRIC

    @property
    def partition(self) -> str | None:
        match = _ALARM_ARN.match(self.alarm_arn or "")
        return match.group("partition") if match else None

    @property
    def region(self) -> str | None:
        """The region code (``eu-west-1``), read from the alarm ARN."""
        match = _ALARM_ARN.match(self.alarm_arn or "")
        return match.group("region") if match else None

    @property
    def kind(self) -> str | None:
        """Which hookrelay alarm this is (one of ``naming.ALARM_KINDS``), from its name."""
        return alarm_kind(self.alarm_name)

    @property
    def is_stage_alarm(self) -> bool:
        """One of the stage alarms over every partner (``hookrelay-<stage>-partners-<kind>``)."""
        kind = self.kind
        return kind is not None and self.alarm_name.removesuffix(f"-{kind}").endswith(
            f"-{naming.EVERY_PARTNER}"
        )

    @property
    def partner_id(self) -> str | None:
        """The hookrelay partner this alarm is about, or None.

        Read from the alarm name when it is a partner's own alarm, else from the contributor's or the
        trigger's queue or function dimensions, else (composite alarms) from the children that
        triggered it. A source naming two different partners names none.
        """
        if self.kind is not None and not self.is_stage_alarm:
            return naming.partner_from_name(self.alarm_name)
        dimensions = [(d.name, d.value) for d in self.trigger.all_dimensions()] if self.trigger else []
        if self.contributor is not None:
            dimensions += self.contributor.attributes.items()
        found = _only(
            naming.partner_from_name(value) for name, value in dimensions if name in PARTNER_DIMENSIONS
        )
        if found:
            return found
        return _only(
            naming.partner_from_name(c.alarm_name)
            for c in self.triggering_children
            if alarm_kind(c.alarm_name)
        )


def alarm_kind(alarm_name: str) -> str | None:
    return next((k for k in naming.ALARM_KINDS if alarm_name.endswith("-" + k)), None)


def parse_notification(message: str) -> AlarmNotification:
    """The alarm in an SNS message body. Raises InvalidInput (with a reason) if it is not one."""
    try:
        return AlarmNotification.model_validate_json(message)
    except ValidationError as exc:
        reason = validation_message(exc, limit=1, where="message")
        raise InvalidInput(f"not a CloudWatch alarm notification: {reason}") from exc


def _only(candidates: Iterable[str | None]) -> str | None:
    found = {c for c in candidates if c}
    return found.pop() if len(found) == 1 else None
