"""A stage alarm (one Metrics Insights alarm over every partner) still names the partner that hurts."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from hookrelay import naming
from hookrelay.alarms.contributors import partners_in_alarm
from hookrelay.alarms.slack_message import alarm_message
from hookrelay.errors import DependencyUnavailable
from tests.support import alarm_events as ev

ALARM = naming.stage_alarm("dev", "lambda-errors")


def contributor(key: str, value: str) -> dict[str, Any]:
    return {
        "ContributorId": value[-16:],
        "ContributorAttributes": {key: value},
        "StateReason": "Threshold Crossed",
    }


@pytest.fixture
def cloudwatch() -> Any:
    return boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_stage_alarms_are_told_from_partner_alarms_by_name() -> None:
    # GIVEN the stage alarms' names and a partner's own alarm
    # THEN the stage's are stage alarms naming no partner; the partner's names its partner
    assert ev.alarm(ev.STAGE_ALARM).is_stage_alarm
    assert ev.alarm(ev.STAGE_CONTRIBUTOR).is_stage_alarm
    assert not ev.alarm(ev.LAMBDA_ERRORS).is_stage_alarm
    assert naming.partner_from_name(ALARM) is None
    assert naming.partner_from_name(naming.shared_handler_role("dev")) is None


def test_a_contributor_notification_names_the_partner_from_its_queue() -> None:
    # GIVEN the stage dlq-depth alarm's notification for the contributor hookrelay-dev-acme-dlq
    alarm = ev.alarm(ev.STAGE_CONTRIBUTOR)
    # THEN the partner is acme, read from the contributor's QueueName
    assert alarm.contributor is not None
    assert alarm.contributor.attributes == {"QueueName": "hookrelay-dev-acme-dlq"}
    assert alarm.partner_id == "acme"


def test_the_contributors_in_alarm_name_each_partner_once(cloudwatch: Any) -> None:
    # GIVEN CloudWatch lists acme's function, acme's queue, globex's function and the results queue in ALARM
    stub = Stubber(cloudwatch)
    stub.add_response(
        "describe_alarm_contributors",
        {
            "AlarmContributors": [
                contributor("FunctionName", "hookrelay-dev-acme"),
                contributor("QueueName", "hookrelay-dev-acme-dlq"),
            ],
            "NextToken": "page-2",
        },
        {"AlarmName": ALARM},
    )
    stub.add_response(
        "describe_alarm_contributors",
        {
            "AlarmContributors": [
                contributor("FunctionName", "hookrelay-dev-globex"),
                contributor("QueueName", "hookrelay-dev-results"),
            ]
        },
        {"AlarmName": ALARM, "NextToken": "page-2"},
    )
    # WHEN the partners in alarm are asked for
    with stub:
        partners = partners_in_alarm(ALARM, cloudwatch)
    # THEN acme and globex, each once, sorted; the shared results queue is no partner
    assert partners == ["acme", "globex"]
    stub.assert_no_pending_responses()


def test_the_lookup_stops_after_its_page_budget(cloudwatch: Any) -> None:
    # GIVEN CloudWatch would page forever
    stub = Stubber(cloudwatch)
    page = {"AlarmContributors": [contributor("FunctionName", "hookrelay-dev-acme")], "NextToken": "more"}
    stub.add_response("describe_alarm_contributors", page, {"AlarmName": ALARM})
    # WHEN one page is allowed, THEN one call is made and its partners returned
    with stub:
        assert partners_in_alarm(ALARM, cloudwatch, max_pages=1) == ["acme"]


def test_a_failed_lookup_is_dependency_unavailable(cloudwatch: Any) -> None:
    stub = Stubber(cloudwatch)
    stub.add_client_error("describe_alarm_contributors", "ResourceNotFoundException", http_status_code=404)
    with (
        stub,
        pytest.raises(DependencyUnavailable, match="contributors of hookrelay-dev-partners-lambda-errors"),
    ):
        partners_in_alarm(ALARM, cloudwatch)


def test_the_slack_message_of_a_contributor_names_its_partner() -> None:
    # GIVEN the stage alarm's notification for acme's DLQ
    payload = alarm_message(ev.alarm(ev.STAGE_CONTRIBUTOR))
    # THEN the fallback text and the Partner field name acme
    assert payload["text"] == "ALARM: hookrelay-dev-partners-dlq-depth (acme)"
    facts = payload["attachments"][0]["blocks"][2]["fields"]
    assert facts[1] == {"type": "mrkdwn", "text": "*Partner*\nacme"}


def test_the_slack_message_of_a_stage_alarm_lists_the_partners_found() -> None:
    # GIVEN the stage alarm's own notification and twelve partners found in ALARM
    partners = [f"p{i:02d}" for i in range(12)]
    payload = alarm_message(ev.alarm(ev.STAGE_ALARM), partners=partners)
    # THEN the first ten are named, then how many more
    named = "p00, p01, p02, p03, p04, p05, p06, p07, p08, p09 and 2 more"
    assert payload["text"] == f"ALARM: hookrelay-dev-partners-lambda-errors ({named})"
    facts = payload["attachments"][0]["blocks"][2]["fields"]
    assert facts[1] == {"type": "mrkdwn", "text": f"*Partners*\n{named}"}
    ev.assert_valid_block_kit(payload)
