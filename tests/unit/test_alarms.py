"""Every CloudWatch alarm notification shape parses into one model; partner and kind are read off it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hookrelay.alarms.notification import AlarmShape, AlarmState, parse_notification
from hookrelay.errors import InvalidInput
from tests.support import alarm_events as ev


@pytest.mark.parametrize(
    ("name", "shape", "state", "kind", "partner"),
    [
        (ev.SINGLE_METRIC, AlarmShape.SINGLE_METRIC, AlarmState.ALARM, "oldest-message-age", "acme"),
        (ev.DLQ_OK_CHINA, AlarmShape.SINGLE_METRIC, AlarmState.OK, "dlq-depth", "initech"),
        (ev.METRIC_MATH, AlarmShape.METRIC_MATH, AlarmState.ALARM, "dlq-depth", "acme"),
        (ev.LAMBDA_ERRORS, AlarmShape.SINGLE_METRIC, AlarmState.ALARM, "lambda-errors", "acme"),
        (ev.ANOMALY, AlarmShape.ANOMALY_DETECTION, AlarmState.ALARM, None, "globex"),
        (ev.COMPOSITE, AlarmShape.COMPOSITE, AlarmState.ALARM, None, "acme"),
        (
            ev.INSUFFICIENT_GOVCLOUD,
            AlarmShape.SINGLE_METRIC,
            AlarmState.INSUFFICIENT_DATA,
            "oldest-message-age",
            None,
        ),
        (ev.STAGE_CONTRIBUTOR, AlarmShape.METRIC_MATH, AlarmState.ALARM, "dlq-depth", "acme"),
        (ev.STAGE_ALARM, AlarmShape.METRIC_MATH, AlarmState.ALARM, "lambda-errors", None),
    ],
)
def test_each_sample_parses_to_its_shape_state_kind_and_partner(
    name: str, shape: AlarmShape, state: AlarmState, kind: str | None, partner: str | None
) -> None:
    """GIVEN a real-shaped notification WHEN parsed THEN shape, new state, alarm kind and partner are read."""
    alarm = ev.alarm(name)
    assert (alarm.shape, alarm.new_state, alarm.kind, alarm.partner_id) == (shape, state, kind, partner)


def test_single_metric_trigger_fields() -> None:
    """GIVEN a single-metric alarm THEN its metric, statistic, dimensions and threshold are typed."""
    trigger = ev.alarm(ev.SINGLE_METRIC).trigger
    assert trigger is not None
    assert (trigger.namespace, trigger.metric_name, trigger.statistic) == (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "MAXIMUM",
    )
    assert [(d.name, d.value) for d in trigger.dimensions] == [("QueueName", "hookrelay-dev-acme")]
    assert (trigger.threshold, trigger.period, trigger.evaluation_periods) == (900.0, 300, 1)


def test_state_change_time_with_a_plus0000_offset_is_utc() -> None:
    """GIVEN CloudWatch's ``+0000`` timestamp THEN it is an aware UTC datetime."""
    expected = datetime(2026, 11, 23, 18, 45, 12, 345000, tzinfo=UTC)
    assert ev.alarm(ev.SINGLE_METRIC).state_change_time == expected


def test_metric_math_keeps_every_query_with_nested_dimensions() -> None:
    """GIVEN a metric-math alarm THEN the expression and both metric queries are kept, dimensions included."""
    trigger = ev.alarm(ev.METRIC_MATH).trigger
    assert trigger is not None
    assert [(q.id, q.expression, q.return_data) for q in trigger.metrics] == [
        ("depth", "visible + inflight", True),
        ("visible", None, False),
        ("inflight", None, False),
    ]
    assert {d.value for d in trigger.all_dimensions()} == {"hookrelay-dev-acme-dlq"}


def test_anomaly_detection_names_its_band() -> None:
    """GIVEN an anomaly-detection alarm THEN ThresholdMetricId points at the band expression, no threshold."""
    trigger = ev.alarm(ev.ANOMALY).trigger
    assert trigger is not None
    band = trigger.query(trigger.threshold_metric_id)
    assert band is not None
    assert (band.expression, trigger.threshold) == ("ANOMALY_DETECTION_BAND(m1, 2)", None)


def test_composite_alarm_has_rule_and_children_but_no_trigger() -> None:
    """GIVEN a composite alarm THEN its rule and the triggering child (name and state) are read."""
    alarm = ev.alarm(ev.COMPOSITE)
    assert alarm.trigger is None
    assert alarm.alarm_rule == ev.COMPOSITE_RULE
    child = alarm.triggering_children[0]
    assert child.state is not None
    assert (child.alarm_name, child.state.value) == ("hookrelay-dev-acme-dlq-depth", AlarmState.ALARM)


@pytest.mark.parametrize(
    ("name", "partition", "region"),
    [
        (ev.SINGLE_METRIC, "aws", "us-east-1"),
        (ev.DLQ_OK_CHINA, "aws-cn", "cn-north-1"),
        (ev.INSUFFICIENT_GOVCLOUD, "aws-us-gov", "us-gov-west-1"),
    ],
)
def test_partition_and_region_come_from_the_alarm_arn(name: str, partition: str, region: str) -> None:
    alarm = ev.alarm(name)
    assert (alarm.partition, alarm.region) == (partition, region)


def test_partner_from_dimensions_when_the_name_is_not_a_partner_alarm() -> None:
    """GIVEN an alarm named freely WHEN its FunctionName dimension is a partner function THEN that partner."""
    alarm = ev.alarm(ev.ANOMALY)
    assert alarm.alarm_name == "hookrelay-dev-globex-duration-anomaly"
    assert alarm.partner_id == "globex"


def test_dimensions_naming_two_partners_name_none() -> None:
    """GIVEN queue dimensions of two different partners THEN no partner is claimed."""
    text = ev.raw(ev.METRIC_MATH).replace('"hookrelay-dev-acme-dlq-depth"', '"queue-depth-sum"', 2)
    text = text.replace('{"value": "hookrelay-dev-acme-dlq"', '{"value": "hookrelay-dev-globex-dlq"', 1)
    alarm = parse_notification(text)
    assert alarm.kind is None
    assert alarm.partner_id is None


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("this is not json", "not a CloudWatch alarm notification: message: Invalid JSON"),
        ('{"AlarmName": "x"}', "not a CloudWatch alarm notification: NewStateValue: Field required"),
        ("[1, 2]", "not a CloudWatch alarm notification: message: Input should be an object"),
    ],
)
def test_a_message_that_is_not_an_alarm_is_invalid_input_with_a_reason(message: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_notification(message)
    assert caught.value.message.startswith(reason)
