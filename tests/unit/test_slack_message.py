"""The Slack message for an alarm: valid Block Kit, coloured by state, carrying what on-call needs."""

from __future__ import annotations

from typing import Any

import pytest

from hookrelay.alarms.blocks import escape
from hookrelay.alarms.console import alarm_url
from hookrelay.alarms.logs import LogLine
from hookrelay.alarms.slack_message import LogExcerpt, alarm_message, unparsed_message
from hookrelay.alarms.text import metric_description, threshold_description
from tests.support import alarm_events as ev


def blocks(payload: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = payload["attachments"][0]["blocks"]
    return result


def fields(payload: dict[str, Any]) -> dict[str, str]:
    """Field title -> value, over every section with fields."""
    found = {}
    for block in blocks(payload):
        for field in block.get("fields", []):
            title, _, value = field["text"].partition("\n")
            found[title.strip("*")] = value
    return found


@pytest.mark.parametrize("name", ev.ALL)
def test_every_sample_makes_valid_block_kit(name: str) -> None:
    """GIVEN each sample WHEN built into a message THEN slack-sdk's models accept it unchanged."""
    alarm = ev.alarm(name)
    ev.assert_valid_block_kit(alarm_message(alarm, alarm_url=alarm_url(alarm)))


@pytest.mark.parametrize(
    ("name", "colour"),
    [(ev.SINGLE_METRIC, "#D62828"), (ev.DLQ_OK_CHINA, "#2EB67D"), (ev.INSUFFICIENT_GOVCLOUD, "#9E9E9E")],
)
def test_colour_bar_tells_the_state(name: str, colour: str) -> None:
    """ALARM red, OK green, INSUFFICIENT_DATA grey."""
    assert alarm_message(ev.alarm(name))["attachments"][0]["color"] == colour


def test_single_metric_alarm_message_content() -> None:
    """GIVEN the oldest-message-age alarm THEN header, reason, facts, metric, threshold and link are shown."""
    alarm = ev.alarm(ev.SINGLE_METRIC)
    payload = alarm_message(alarm, alarm_url=alarm_url(alarm))
    assert payload["text"] == "ALARM: hookrelay-dev-acme-oldest-message-age (acme)"
    assert blocks(payload)[0]["text"]["text"] == ":red_circle: ALARM: hookrelay-dev-acme-oldest-message-age"
    reason = blocks(payload)[1]["text"]["text"]
    assert reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [1042.0")
    assert fields(payload) == {
        "State": "OK → ALARM",
        "Partner": "acme",
        "Alarm kind": "oldest-message-age",
        "Time": "<!date^1795459512^{date_num} {time_secs}|2026-11-23 18:45:12 UTC>",
        "Region": "us-east-1 (US East (N. Virginia))",
        "Account": "123456789012",
        "Metric": "AWS/SQS ApproximateAgeOfOldestMessage (Maximum, 300 s) QueueName=hookrelay-dev-acme",
        "Threshold": "&gt;= 900 for 1 of 1 periods of 300 s",
    }
    button = blocks(payload)[-2]["elements"][0]
    assert (button["text"]["text"], button["url"]) == ("Open alarm", alarm_url(alarm))
    assert blocks(payload)[-1]["elements"][0]["text"] == alarm.alarm_description


def test_metric_math_lists_the_expression_first_then_its_metrics() -> None:
    assert metric_description(ev.alarm(ev.METRIC_MATH)) == (
        "depth = visible + inflight (Dead-lettered webhooks)\n"
        "visible: AWS/SQS ApproximateNumberOfMessagesVisible (Maximum, 60 s) "
        "QueueName=hookrelay-dev-acme-dlq\n"
        "inflight: AWS/SQS ApproximateNumberOfMessagesNotVisible (Maximum, 60 s) "
        "QueueName=hookrelay-dev-acme-dlq"
    )


def test_anomaly_detection_threshold_is_the_band() -> None:
    assert threshold_description(ev.alarm(ev.ANOMALY)) == (
        "above the band ANOMALY_DETECTION_BAND(m1, 2) for 1 of 1 periods of 300 s"
    )


def test_composite_alarm_shows_rule_and_triggering_children() -> None:
    found = fields(alarm_message(ev.alarm(ev.COMPOSITE)))
    assert found["Rule"] == ev.COMPOSITE_RULE
    assert found["Triggered by"] == "hookrelay-dev-acme-dlq-depth (ALARM)"
    assert found["Partner"] == "acme"


def test_an_alarm_of_no_partner_has_no_partner_field() -> None:
    payload = alarm_message(ev.alarm(ev.INSUFFICIENT_GOVCLOUD))
    assert "Partner" not in fields(payload)
    assert payload["text"] == "INSUFFICIENT_DATA: hookrelay-dev-results-oldest-message-age"
    assert fields(payload)["State"] == "OK → INSUFFICIENT_DATA"


def test_error_lines_are_shown_in_a_code_block_escaped_and_shortened() -> None:
    """GIVEN a very long error line and one with <html> THEN both appear, cut to 300 chars, escaped."""
    lines = [
        LogLine(timestamp_ms=1, stream="s", message='{"level":"ERROR","message":"' + "x" * 500 + '"}'),
        LogLine(timestamp_ms=2, stream="s", message="ERROR partner said <html>"),
    ]
    excerpt = LogExcerpt(log_group="/aws/lambda/hookrelay-dev-acme", lines=lines, url="https://logs.example")
    payload = alarm_message(ev.alarm(ev.LAMBDA_ERRORS), logs=excerpt)
    ev.assert_valid_block_kit(payload)
    text = blocks(payload)[4]["text"]["text"]
    first, second = text.split("\n")[1:]
    assert text.startswith("*Recent errors in* `/aws/lambda/hookrelay-dev-acme`\n```")
    assert len(first) == 3 + 300
    assert second == "ERROR partner said &lt;html&gt;```"
    assert [b["text"]["text"] for b in blocks(payload)[5]["elements"]] == ["Open logs"]


def test_unreadable_logs_say_why() -> None:
    excerpt = LogExcerpt(log_group="/aws/lambda/hookrelay-dev-acme", error="cannot read it: AccessDenied")
    text = blocks(alarm_message(ev.alarm(ev.LAMBDA_ERRORS), logs=excerpt))[4]["text"]["text"]
    assert text == (
        "*Recent errors in* `/aws/lambda/hookrelay-dev-acme`\n"
        "_could not read them: cannot read it: AccessDenied_"
    )


def test_oversized_texts_are_cut_to_slack_limits() -> None:
    """GIVEN a 10,000-character reason and a 300-character alarm name THEN the message is still valid."""
    alarm = ev.alarm(ev.SINGLE_METRIC).model_copy(update={"reason": "r" * 10_000, "alarm_name": "n" * 300})
    payload = alarm_message(alarm, alarm_url=alarm_url(alarm))
    ev.assert_valid_block_kit(payload)
    assert len(blocks(payload)[0]["text"]["text"]) == 150
    assert len(blocks(payload)[1]["text"]["text"]) == 3000


def test_unparsed_notification_shows_its_raw_text_truncated() -> None:
    """GIVEN a 10 KB non-alarm message THEN it is posted raw in a code block within the 3000-char limit."""
    raw = "<b>" + "z" * 10_000
    payload = unparsed_message(raw, "not a CloudWatch alarm notification: message: Invalid JSON", "Weird")
    ev.assert_valid_block_kit(payload)
    assert payload["text"] == "Unparsed notification: Weird"
    assert payload["attachments"][0]["color"] == "#ECB22E"
    code = blocks(payload)[2]["text"]["text"]
    assert code.startswith("```&lt;b&gt;zzz")
    assert code.endswith("…```")
    assert len(code) == 3000


def test_escaping_never_cuts_an_entity_in_half() -> None:
    """GIVEN text of '&' characters cut to 12 characters THEN whole '&amp;' entities and an ellipsis."""
    assert escape("&&&&", 12) == "&amp;&amp;…"
    assert escape("a<b", 8) == "a&lt;b"
