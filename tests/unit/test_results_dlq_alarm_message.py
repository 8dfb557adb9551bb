"""alarm-to-slack on the results DLQ's alarm: named for what it is, and about no partner."""

from __future__ import annotations

import json

from hookrelay import naming
from hookrelay.alarms.notification import parse_notification
from hookrelay.alarms.slack_message import alarm_message
from hookrelay.provisioning.resources.monitoring import results_dlq_alarm_definition
from tests.support import alarm_events as ev


def test_the_results_dlq_alarm_reads_as_a_dlq_depth_alarm_of_no_partner() -> None:
    # GIVEN the notification of the results DLQ's alarm going to ALARM (the sample's shape, its definition)
    definition = results_dlq_alarm_definition(
        "dev", "arn:aws:sns:us-east-1:123456789012:hookrelay-dev-alarms"
    )
    sample = json.loads(ev.raw(ev.DLQ_OK_CHINA))
    sample.update(
        AlarmName=definition["AlarmName"],
        AlarmDescription=definition["AlarmDescription"],
        AlarmArn=f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{definition['AlarmName']}",
        Region="US East (N. Virginia)",
        OldStateValue="OK",
        NewStateValue="ALARM",
    )
    sample["Trigger"]["Dimensions"] = [
        {"name": "QueueName", "value": naming.results_dead_letter_queue("dev")}
    ]
    alarm = parse_notification(json.dumps(sample))
    # WHEN it is built into a Slack message
    payload = alarm_message(alarm)
    # THEN the message names the alarm and its kind, no partner, and says where the records wait
    assert payload["text"] == "ALARM: hookrelay-dev-results-dlq-depth"
    assert (alarm.kind, alarm.partner_id, alarm.is_stage_alarm) == ("dlq-depth", None, False)
    footer = payload["attachments"][0]["blocks"][-1]["elements"][0]["text"]
    assert footer == "attempt records the results recorder could not write wait in hookrelay-dev-results-dlq"
    ev.assert_valid_block_kit(payload)
