"""`chalice package` of alarm-to-slack gives a zip that forwards an alarm with only Lambda's runtime."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from hookrelay_local.artifacts import build_app_zip
from hookrelay_local.partner_server import PartnerServer
from tests.support import alarm_events as ev
from tests.support.lambda_sandbox import invoke_packaged

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def alarm_zip() -> Path:
    return build_app_zip("alarm-to-slack", "dev")


def test_the_package_holds_what_the_app_imports_and_no_botocore(alarm_zip: Path) -> None:
    top = {n.split("/", 1)[0] for n in zipfile.ZipFile(alarm_zip).namelist()}
    assert {"app.py", "hookrelay", "pydantic", "requests", "slack_sdk", "aws_xray_sdk"} <= top
    assert not top & {"botocore", "boto3", "moto", "rich", "hookrelay_local"}


def test_the_packaged_app_posts_an_alarm_with_only_the_lambda_runtime(
    alarm_zip: Path, tmp_path: Path, partner_server: Callable[..., PartnerServer]
) -> None:
    # GIVEN the zip beside the packages Lambda's Python runtime provides, the webhook URL in the environment
    slack = partner_server()
    sns = {"Message": ev.raw(ev.SINGLE_METRIC), "Subject": "ALARM", "MessageAttributes": {}}
    event = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": sns}]}
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "hookrelay-alarm-to-slack-dev-forward",
        "HOOKRELAY_STAGE": "dev",
        "HOOKRELAY_SLACK_WEBHOOK_URL": slack.url,
    }
    # WHEN Lambda's bootstrap would call app.forward
    result = invoke_packaged(alarm_zip, tmp_path, "forward", event, env, own_package="slack_sdk")
    # THEN Slack got the message, and the webhook URL appears nowhere in the output
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["attempts"] == 1
    [request] = slack.requests_snapshot()
    assert json.loads(request.body)["text"] == "ALARM: hookrelay-dev-acme-oldest-message-age (acme)"
    assert slack.url not in result.stdout + result.stderr
