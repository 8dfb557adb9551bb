"""`chalice package` of the handler gives a zip that imports and delivers with only Lambda's runtime."""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from hookrelay.signing import standard as signing
from hookrelay_local.artifacts import build_app_zip, zip_problems
from hookrelay_local.embedded_aws import endpoint_url, start_moto_server
from hookrelay_local.partner_server import PartnerServer
from tests.support.handler_stack import build_partner_stack
from tests.support.lambda_sandbox import invoke_packaged
from tests.support.sqs import drain, sqs_event

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def handler_zip() -> Path:
    return build_app_zip("handler", "dev")


@pytest.fixture
def moto_server() -> Iterator[str]:
    server = start_moto_server(0)
    yield endpoint_url(server)
    server.stop()


def test_the_package_holds_only_what_the_handler_imports(handler_zip: Path) -> None:
    names = zipfile.ZipFile(handler_zip).namelist()
    top = {n.split("/", 1)[0] for n in names}
    assert {"app.py", "hookrelay", "pydantic", "requests", "aws_xray_sdk"} <= top
    # no boto3/botocore, dev tools or chalice CLI, and under the budget (tests/e2e/test_app_templates.py)
    assert zip_problems(handler_zip) == []
    assert not [n for n in names if "__pycache__" in n]


def test_the_packaged_handler_delivers_with_only_the_lambda_runtime(
    handler_zip: Path, moto_server: str, tmp_path: Path, partner_server: Callable[..., PartnerServer]
) -> None:
    # GIVEN a partner on the embedded AWS
    server = partner_server()
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    secrets = boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")
    stack = build_partner_stack(sqs, secrets, server.url)
    event = sqs_event([stack.message(id="msg_zip").to_sqs_body(), "poison"])
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "hookrelay-dev-acme",
        "POWERTOOLS_METRICS_DISABLED": "true",
        **stack.settings.to_environment(),
    }
    # WHEN Lambda's bootstrap would call app.deliver, with the zip beside the runtime's packages only
    result = invoke_packaged(handler_zip, tmp_path, "deliver", event, env)
    # THEN it answers a partial batch response, the partner got a verifiable webhook, the poison is parked
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"batchItemFailures": []}
    [request] = server.requests_snapshot()
    assert signing.verify(stack.secret, request.headers, request.body).webhook_id == "msg_zip"
    assert [m["Body"] for m in drain(sqs, stack.dlq_url)] == ["poison"]
    assert stack.secret not in result.stdout + result.stderr
