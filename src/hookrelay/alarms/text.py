"""Alarm facts in words an on-call engineer reads at a glance: metric, threshold, state change.

Plain strings (Slack mrkdwn-safe apart from the escaping the message builder applies), so any
channel (Slack today, a ticket or an e-mail tomorrow) can use them.
"""

from __future__ import annotations

from hookrelay.alarms.notification import AlarmNotification, AlarmShape, Metric, MetricQuery, Trigger

_OPERATORS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside the band",
    "GreaterThanUpperThreshold": "above the band",
    "LessThanLowerThreshold": "below the band",
}
# Statistics arrive upper-cased in notifications (SAMPLE_COUNT); the console spells them SampleCount.
_STATISTICS = {"SAMPLE_COUNT": "SampleCount", "AVERAGE": "Average", "SUM": "Sum"}


def number(value: float) -> str:
    return f"{value:g}"


def statistic(trigger: Trigger) -> str | None:
    if trigger.extended_statistic:
        return trigger.extended_statistic
    if trigger.statistic:
        return _STATISTICS.get(trigger.statistic, trigger.statistic.capitalize())
    return None


def metric_line(metric: Metric | Trigger, stat: str | None, period: int | None) -> str:
    """``AWS/SQS ApproximateAgeOfOldestMessage (Maximum, 300 s) QueueName=hookrelay-dev-acme``."""
    how = ", ".join(part for part in (stat, f"{period} s" if period else None) if part)
    text = " ".join(part for part in (metric.namespace, metric.metric_name) if part)
    if how:
        text += f" ({how})"
    dimensions = " ".join(f"{d.name}={d.value}" for d in metric.dimensions)
    return f"{text} {dimensions}".rstrip()


def query_line(query: MetricQuery) -> str:
    if query.expression is not None:
        label = f" ({query.label})" if query.label else ""
        return f"{query.id} = {query.expression}{label}"
    if query.metric_stat is not None:
        stat = query.metric_stat
        return f"{query.id}: {metric_line(stat.metric, stat.stat, stat.period)}"
    return query.id


def metric_description(alarm: AlarmNotification) -> str | None:
    """What the alarm watches; for metric math and anomaly bands, every query, results first."""
    trigger = alarm.trigger
    if trigger is None:
        return None
    if not trigger.metrics:
        if trigger.metric_name is None:
            return None
        return metric_line(trigger, statistic(trigger), trigger.period)
    ordered = sorted(trigger.metrics, key=lambda q: (not q.return_data, q.expression is None))
    return "\n".join(query_line(q) for q in ordered)


def threshold_description(alarm: AlarmNotification) -> str | None:
    """``>= 900 for 1 of 1 periods of 300 s``; an anomaly band by its expression; a composite's rule."""
    trigger = alarm.trigger
    if trigger is None:
        return alarm.alarm_rule
    operator = _OPERATORS.get(trigger.comparison_operator or "", trigger.comparison_operator or "")
    if alarm.shape is AlarmShape.ANOMALY_DETECTION:
        band = trigger.query(trigger.threshold_metric_id)
        target = band.expression if band and band.expression else trigger.threshold_metric_id
        text = f"{operator} {target}"
    elif trigger.threshold is not None:
        text = f"{operator} {number(trigger.threshold)}"
    else:
        text = operator
    if trigger.evaluation_periods:
        needed = trigger.datapoints_to_alarm or trigger.evaluation_periods
        text += f" for {needed} of {trigger.evaluation_periods} periods"
        if trigger.period:
            text += f" of {trigger.period} s"
    return text.strip() or None


def transition(alarm: AlarmNotification) -> str:
    return f"{alarm.old_state} → {alarm.new_state}" if alarm.old_state else str(alarm.new_state)
