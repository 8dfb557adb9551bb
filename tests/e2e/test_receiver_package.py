"""`chalice package` of the receiver (what partners deploy) gives a zip whose inbox runs with only Lambda's
runtime: the core modules it imports and Powertools (vendored without jmespath) are enough."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hookrelay_local.artifacts import build_app_zip, zip_problems
from tests.support.lambda_sandbox import invoke_packaged
from tests.support.sqs import sqs_event

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def receiver_zip() -> Path:
    return build_app_zip("receiver", "dev")


def test_the_package_bundles_nothing_lambda_or_nobody_needs(receiver_zip: Path) -> None:
    assert zip_problems(receiver_zip) == []


def test_the_packaged_inbox_processes_a_webhook_and_reports_a_poison_record(
    receiver_zip: Path, tmp_path: Path
) -> None:
    # GIVEN an inbox batch: one queued webhook (body and id/timestamp attributes) and one poison record
    event = sqs_event(['{"amount": "5.00"}', "not json"])
    event["Records"][0]["messageAttributes"] = {
        "WebhookId": {"stringValue": "msg_zip", "dataType": "String"},
        "WebhookTimestamp": {"stringValue": "1764547200", "dataType": "Number"},
    }
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "sample-receiver-dev-inbox",
        "HOOKRELAY_RECEIVER_PARTIAL_BATCH": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    # WHEN Lambda's bootstrap would call app.inbox, with the zip beside the runtime's packages only
    result = invoke_packaged(receiver_zip, tmp_path, "inbox", event, env, own_package="aws_lambda_powertools")
    # THEN the webhook is processed and only the poison record comes back for a retry
    assert result.returncode == 0, result.stderr[-2000:]
    poison = event["Records"][1]["messageId"]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "batchItemFailures": [{"itemIdentifier": poison}]
    }
