"""The alarm-to-slack app end to end: SNS event in (chalice test client), Slack (a loopback server) out."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import chalice.test
import pytest
from botocore.stub import Stubber
from chalice.local import LambdaContext
from chalice.test import Client

from hookrelay.alarms.forwarding import AlarmDeps, forward_notification
from hookrelay.alarms.settings import AlarmToSlackSettings, WebhookUrl, alarm_settings
from hookrelay.errors import DependencyUnavailable
from hookrelay_local.partner_server import PartnerServer, Received, Reply, always
from tests.support import alarm_events as ev
from tests.support.apps import load_app_file

APP_DIR = Path(__file__).resolve().parents[2] / "alarm-to-slack"


@pytest.fixture(scope="module")
def app_module() -> ModuleType:
    return load_app_file(APP_DIR / "app.py", "alarm_to_slack_app")


@pytest.fixture
def invoke(
    app_module: ModuleType, secretsmanager: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[PartnerServer, str], Any]]:
    """``invoke(slack, message)``: the dev stage's function, its webhook secret pointing at ``slack``."""
    monkeypatch.setattr(app_module, "configure_logging", lambda *_args: None)  # keep pytest's log capture
    # chalice's test client hands every function a context of 3 s; the function's timeout is 60 s
    monkeypatch.setattr(
        chalice.test, "LambdaContext", functools.partial(LambdaContext, max_runtime_ms=60_000)
    )
    monkeypatch.setenv("HOOKRELAY_SLACK_POLICY", '{"max_attempts": 2, "base_delay_seconds": 0}')
    secret_made = False

    def run(slack: PartnerServer, message: str) -> Any:
        nonlocal secret_made
        if not secret_made:
            secret = json.dumps({"url": slack.url.replace("/webhooks", "/services/T0/B0/s3cr3t")})
            secretsmanager.create_secret(Name="hookrelay/dev/slack-webhook", SecretString=secret)
            secret_made = True
        with Client(app_module.app, stage_name="dev", project_dir=str(APP_DIR)) as client:
            event = client.events.generate_sns_event(message=message, subject="ALARM: example")
            return client.lambda_.invoke("forward", event).payload

    app_module.deps.cache_clear()
    alarm_settings.cache_clear()
    yield run
    app_module.deps.cache_clear()
    alarm_settings.cache_clear()


def posted(slack: PartnerServer) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in slack.requests_snapshot()]


def test_an_alarm_is_posted_to_the_webhook_from_the_secret(
    invoke: Callable[[PartnerServer, str], Any], partner_server: Callable[..., PartnerServer]
) -> None:
    """GIVEN the dev stage's webhook secret WHEN an alarm arrives on SNS THEN one valid Block Kit post."""
    slack = partner_server(always(Reply(200, b"ok")))
    result = invoke(slack, ev.raw(ev.SINGLE_METRIC))
    assert result == {"attempts": 1, "parsed": True, "alarm_name": "hookrelay-dev-acme-oldest-message-age"}
    [payload] = posted(slack)
    ev.assert_valid_block_kit(payload)
    assert payload["text"] == "ALARM: hookrelay-dev-acme-oldest-message-age (acme)"
    assert slack.requests_snapshot()[0].path == "/services/T0/B0/s3cr3t"


def test_slack_down_fails_the_invocation(
    invoke: Callable[[PartnerServer, str], Any],
    partner_server: Callable[..., PartnerServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN Slack always answers 503 THEN the invocation raises (SNS/Lambda retry); the URL is not logged."""
    slack = partner_server(always(Reply(503, b"service_unavailable")))
    with caplog.at_level(logging.INFO), pytest.raises(DependencyUnavailable, match="after 2 attempt"):
        invoke(slack, ev.raw(ev.DLQ_OK_CHINA))
    assert slack.count == 2
    assert "s3cr3t" not in caplog.text


def test_a_malformed_message_is_posted_raw_and_logged(
    invoke: Callable[[PartnerServer, str], Any],
    partner_server: Callable[..., PartnerServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN an SNS message that is not an alarm THEN it is posted as an unparsed notification, and logged."""
    slack = partner_server(always(Reply(200, b"ok")))
    with caplog.at_level(logging.WARNING):
        result = invoke(slack, "Budget alert: 80% of monthly budget")
    assert result == {"attempts": 1, "parsed": False, "alarm_name": None}
    [payload] = posted(slack)
    ev.assert_valid_block_kit(payload)
    assert payload["text"] == "Unparsed notification: ALARM: example"
    raw_block = payload["attachments"][0]["blocks"][2]
    assert raw_block["text"]["text"] == "```Budget alert: 80% of monthly budget```"
    [record] = [r for r in caplog.records if r.getMessage() == "unparsed notification"]
    assert record.raw == "Budget alert: 80% of monthly budget"  # type: ignore[attr-defined]


def test_blocks_refused_by_slack_fall_back_to_plain_text(
    invoke: Callable[[PartnerServer, str], Any], partner_server: Callable[..., PartnerServer]
) -> None:
    """GIVEN Slack answers 400 invalid_blocks to the rich message THEN the plain text is posted instead."""

    def behaviour(request: Received) -> Reply:
        return Reply(400, b"invalid_blocks") if b"attachments" in request.body else Reply(200, b"ok")

    slack = partner_server(behaviour)
    invoke(slack, ev.raw(ev.COMPOSITE))
    assert posted(slack)[1] == {
        "text": "ALARM: hookrelay-dev-acme-degraded (acme)\n(Slack refused the full message: invalid_blocks)"
    }


def test_a_lambda_errors_alarm_carries_the_function_error_lines(
    invoke: Callable[[PartnerServer, str], Any], partner_server: Callable[..., PartnerServer]
) -> None:
    """GIVEN acme's handler logged errors just before its lambda-errors alarm THEN the post shows them."""
    now = datetime.now(UTC).replace(microsecond=0)
    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName="/aws/lambda/hookrelay-dev-acme")
    logs.create_log_stream(logGroupName="/aws/lambda/hookrelay-dev-acme", logStreamName="s1")
    at = int((now - timedelta(minutes=1)).timestamp() * 1000)
    logs.put_log_events(
        logGroupName="/aws/lambda/hookrelay-dev-acme",
        logStreamName="s1",
        logEvents=[
            {"timestamp": at, "message": '{"level":"INFO","message":"delivered"}'},
            {"timestamp": at + 1, "message": '{"level":"ERROR","message":"cannot read signing secret"}'},
        ],
    )
    message = json.loads(ev.raw(ev.LAMBDA_ERRORS))
    message["StateChangeTime"] = now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    slack = partner_server(always(Reply(200, b"ok")))
    invoke(slack, json.dumps(message))
    [payload] = posted(slack)
    ev.assert_valid_block_kit(payload)
    section = payload["attachments"][0]["blocks"][4]["text"]["text"]
    assert section == (
        "*Recent errors in* `/aws/lambda/hookrelay-dev-acme`\n"
        '```{"level":"ERROR","message":"cannot read signing secret"}```'
    )


def test_unreadable_logs_do_not_stop_the_post(
    invoke: Callable[[PartnerServer, str], Any], partner_server: Callable[..., PartnerServer]
) -> None:
    """GIVEN acme's log group does not exist THEN the alarm is still posted, saying why lines are missing."""
    slack = partner_server(always(Reply(200, b"ok")))
    invoke(slack, ev.raw(ev.LAMBDA_ERRORS))
    [payload] = posted(slack)
    section = payload["attachments"][0]["blocks"][4]["text"]["text"]
    assert section == (
        "*Recent errors in* `/aws/lambda/hookrelay-dev-acme`\n"
        "_could not read them: cannot read /aws/lambda/hookrelay-dev-acme: ResourceNotFoundException_"
    )


def test_a_stage_alarm_contributor_is_posted_naming_its_partner(
    invoke: Callable[[PartnerServer, str], Any], partner_server: Callable[..., PartnerServer]
) -> None:
    """GIVEN the stage dlq-depth alarm's notification for acme's DLQ THEN the post names acme."""
    slack = partner_server(always(Reply(200, b"ok")))
    invoke(slack, ev.raw(ev.STAGE_CONTRIBUTOR))
    [payload] = posted(slack)
    ev.assert_valid_block_kit(payload)
    assert payload["text"] == "ALARM: hookrelay-dev-partners-dlq-depth (acme)"


def test_a_stage_alarm_asks_cloudwatch_which_partner_and_shows_its_error_lines(
    moto_aws: None, partner_server: Callable[..., PartnerServer]
) -> None:
    """GIVEN the stage lambda-errors alarm (no contributor in it) and CloudWatch naming acme's function
    WHEN it is forwarded THEN the post names acme and carries acme's error lines."""
    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName="/aws/lambda/hookrelay-dev-acme")
    logs.create_log_stream(logGroupName="/aws/lambda/hookrelay-dev-acme", logStreamName="s1")
    message = json.loads(ev.raw(ev.STAGE_ALARM))
    at = int(datetime.fromisoformat(message["StateChangeTime"]).timestamp() * 1000) - 60_000
    logs.put_log_events(
        logGroupName="/aws/lambda/hookrelay-dev-acme",
        logStreamName="s1",
        logEvents=[{"timestamp": at, "message": '{"level":"ERROR","message":"boom"}'}],
    )
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    stub = Stubber(cloudwatch)
    contributors = [
        {
            "ContributorId": "6d442278dba546f6",
            "ContributorAttributes": {"FunctionName": "hookrelay-dev-acme"},
            "StateReason": "Threshold Crossed",
        }
    ]
    stub.add_response(
        "describe_alarm_contributors",
        {"AlarmContributors": contributors},
        {"AlarmName": "hookrelay-dev-partners-lambda-errors"},
    )
    slack = partner_server(always(Reply(200, b"ok")))
    settings = AlarmToSlackSettings(stage="dev", slack_webhook_url=slack.url)
    deps = AlarmDeps(settings=settings, webhook=WebhookUrl(settings), logs=logs, cloudwatch=cloudwatch)
    with stub:
        result = forward_notification(json.dumps(message), deps)
    assert (result.partner_id, result.partners) == ("acme", ("acme",))
    [payload] = posted(slack)
    ev.assert_valid_block_kit(payload)
    assert payload["text"] == "ALARM: hookrelay-dev-partners-lambda-errors (acme)"
    section = payload["attachments"][0]["blocks"][4]["text"]["text"]
    assert (
        section
        == '*Recent errors in* `/aws/lambda/hookrelay-dev-acme`\n```{"level":"ERROR","message":"boom"}```'
    )


def test_a_stage_alarm_is_still_posted_when_cloudwatch_cannot_say_which_partner(
    moto_aws: None, partner_server: Callable[..., PartnerServer]
) -> None:
    """GIVEN the contributor lookup fails THEN the alarm is posted all the same, naming no partner."""
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    stub = Stubber(cloudwatch)
    stub.add_client_error("describe_alarm_contributors", "ThrottlingException", http_status_code=400)
    slack = partner_server(always(Reply(200, b"ok")))
    settings = AlarmToSlackSettings(stage="dev", slack_webhook_url=slack.url)
    deps = AlarmDeps(settings=settings, webhook=WebhookUrl(settings), cloudwatch=cloudwatch)
    with stub:
        result = forward_notification(ev.raw(ev.STAGE_ALARM), deps)
    assert (result.partner_id, result.partners, result.attempts) == (None, (), 1)
    assert posted(slack)[0]["text"] == "ALARM: hookrelay-dev-partners-lambda-errors"


def test_a_partner_health_notice_is_posted_as_its_own_message(
    invoke: Callable[[PartnerServer, str], Any], partner_server: Callable[..., PartnerServer]
) -> None:
    """GIVEN a paused notice from the provisioner on the alarm topic WHEN forwarded THEN one valid Block Kit
    post about the partner, not an "unparsed notification"."""
    from hookrelay.health_notice import HealthNotice, NoticeKind, resume_command

    slack = partner_server(always(Reply(200, b"ok")))
    notice = HealthNotice(
        kind=NoticeKind.PAUSED, stage="dev", partner_id="acme", at=datetime(2026, 12, 1, tzinfo=UTC),
        reason="failing", consecutive_failures=400, last_error="HTTP 503", last_topic="invoice.paid",
        resume_command=resume_command("dev", "acme"),
    )  # fmt: skip
    result = invoke(slack, notice.model_dump_json())
    assert result == {"attempts": 1, "parsed": True, "alarm_name": None}
    [payload] = posted(slack)
    ev.assert_valid_block_kit(payload)
    assert payload["text"] == "Partner acme is paused (dev)"
    assert "POST /partners/acme/enable" in json.dumps(payload)
