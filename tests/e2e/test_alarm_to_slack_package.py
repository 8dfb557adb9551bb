"""`chalice package` of alarm-to-slack gives a zip that forwards an alarm with only Lambda's runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from hookrelay_local.artifacts import build_app_zip
from hookrelay_local.partner_server import PartnerServer
from tests.support import alarm_events as ev

pytestmark = pytest.mark.e2e
# What every Python Lambda runtime provides besides the standard library.
LAMBDA_RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "six.py", "jmespath", "urllib3")


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
    # GIVEN the zip unpacked beside the packages Lambda's Python runtime provides, and nothing else
    code = tmp_path / "task"
    zipfile.ZipFile(alarm_zip).extractall(code)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(boto3.__file__).parent.parent
    for name in LAMBDA_RUNTIME_PACKAGES:
        if (site / name).exists():
            (runtime / name).symlink_to(site / name)
    slack = partner_server()
    sns = {"Message": ev.raw(ev.SINGLE_METRIC), "Subject": "ALARM", "MessageAttributes": {}}
    event = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": sns}]}
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(code)!r}, {str(runtime)!r}]\n"
        "import app, slack_sdk\n"
        f"assert slack_sdk.__file__.startswith({str(code)!r}), slack_sdk.__file__\n"
        "print(json.dumps(app.forward(json.loads(sys.stdin.read()), None)))\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "hookrelay-alarm-to-slack-dev-forward",
        "HOOKRELAY_LOCAL_RUNTIME": "1",
        "HOOKRELAY_STAGE": "dev",
        "HOOKRELAY_SLACK_WEBHOOK_URL": slack.url,
    }
    # WHEN Lambda's bootstrap would call app.forward (python -S: no site-packages at all)
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        input=json.dumps(event),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # THEN Slack got the message, and the webhook URL appears nowhere in the output
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["attempts"] == 1
    [request] = slack.requests_snapshot()
    assert json.loads(request.body)["text"] == "ALARM: hookrelay-dev-acme-oldest-message-age (acme)"
    assert slack.url not in result.stdout + result.stderr
