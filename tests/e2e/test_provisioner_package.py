"""`chalice package` of the provisioner gives a zip whose operations run with only Lambda's runtime."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from hookrelay.aws.clients import Clients
from hookrelay.provisioning.resources.artifact import upload_artifact
from hookrelay.provisioning.resources.attempt_filter import recorder_function, recorder_handler
from hookrelay.provisioning.resources.shared import ensure_shared
from hookrelay_local.artifacts import build_app_zip
from hookrelay_local.embedded_aws import endpoint_url, start_moto_server
from tests.support.lambda_sandbox import invoke_packaged

SERVICES = ("sqs", "iam", "lambda", "logs", "cloudwatch", "secretsmanager", "dynamodb", "s3", "sns")


pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def provisioner_zip() -> Path:
    return build_app_zip("provisioner", "dev")


@pytest.fixture
def moto_server() -> Iterator[str]:
    server = start_moto_server(0)
    yield endpoint_url(server)
    server.stop()


def test_the_package_holds_only_what_the_provisioner_imports(provisioner_zip: Path) -> None:
    top = {n.split("/", 1)[0] for n in zipfile.ZipFile(provisioner_zip).namelist()}
    assert {"app.py", "hookrelay", "pydantic", "pydantic_settings", "aws_lambda_powertools"} <= top
    assert not top & {"botocore", "boto3", "moto", "rich", "hookrelay_local", "requests"}


def test_the_packaged_create_and_status_work_with_only_the_lambda_runtime(
    provisioner_zip: Path, moto_server: str, tmp_path: Path
) -> None:
    # GIVEN the embedded AWS with the stage's shared resources, a handler artifact and the attempt recorder
    clients = Clients(
        overrides={s: boto3.client(s, endpoint_url=moto_server, region_name="us-east-1") for s in SERVICES}
    )
    ensure_shared("dev", clients)
    clients.s3.create_bucket(Bucket="hookrelay-dev-artifacts")
    upload_artifact(b"PK\x05\x06" + b"\x00" * 18, "hookrelay-dev-artifacts", clients)  # an empty zip
    role = clients.iam.create_role(RoleName="hookrelay-provisioner-dev", AssumeRolePolicyDocument="{}")
    clients.lambda_.create_function(  # what `chalice deploy` of the provisioner makes (issue 15)
        FunctionName=recorder_function("dev"),
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler=recorder_handler(),
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "HOOKRELAY_STAGE": "dev",
        "HOOKRELAY_ALLOWED_NETWORKS": "loopback",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }

    def invoke(name: str, event: dict[str, Any], workdir: Path) -> dict[str, Any]:
        workdir.mkdir()
        result = invoke_packaged(provisioner_zip, workdir, name, event, env)
        assert result.returncode == 0, result.stderr[-2000:]
        answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return answer

    # WHEN Lambda's bootstrap would call app.create, then app.status, from the zip
    created = invoke("create", {"partner_id": "acme", "url": "http://127.0.0.1:9/h"}, tmp_path / "a")
    state = invoke("status", {"partner_id": "acme"}, tmp_path / "b")
    # THEN the partner is created with a secret, and its status shows the live resources
    assert (created["partner_id"], created["status"], created["secret"][:6]) == ("acme", "active", "whsec_")
    assert (state["mapping_state"], state["queue"]["visible"]) == ("Enabled", 0)
