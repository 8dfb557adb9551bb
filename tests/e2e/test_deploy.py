"""make deploy: refuses without a stage, shows its plan, and against AWS (moto's server here) creates the
shared resources, uploads the handler artifact where the provisioner reads it, turns on partial batch
responses on the mappings chalice made; rollback re-points the artifact. `chalice deploy` is faked."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from hookrelay import naming
from hookrelay.aws import clients as aws
from hookrelay.aws.clients import Clients
from hookrelay.provisioning.resources.function import latest_artifact, upload_artifact
from hookrelay_local.artifacts import ROOT
from hookrelay_local.deploy import Deployment, main
from hookrelay_local.embedded_aws import endpoint_url, start_moto_server

pytestmark = pytest.mark.e2e
BUCKET = "hookrelay-dev-artifacts"


def make(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STAGE", "DRY_RUN", "MAKEFLAGS")}
    return subprocess.run(["make", "-s", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_make_deploy_refuses_to_run_without_an_explicit_stage() -> None:
    result = make("deploy")
    assert result.returncode == 2
    assert "deploy needs an explicit stage: make deploy STAGE=dev (or prod)" in result.stderr
    assert "Deploying" not in result.stdout


def test_make_deploy_dry_run_prints_the_plan_in_dependency_order() -> None:
    # WHEN the plan for prod is asked for
    result = make("deploy", "STAGE=prod", "DRY_RUN=1")
    # THEN shared resources come first, then the handler's artifact (the handler app itself is never
    # chalice-deployed), then the apps that use them, the recorder's mapping made to report failures
    assert result.returncode == 0, result.stderr
    steps = [
        line.split(". ", 1)[1]
        for line in result.stdout.splitlines()
        if line[:3].strip().rstrip(".").isdigit()
    ]
    expected = [
        "check: the Slack webhook secret hookrelay/prod/slack-webhook exists",
        "shared resources: tables hookrelay-prod-partners, hookrelay-prod-deliveries; "
        "queue hookrelay-prod-results; topic hookrelay-prod-alarms",
        "artifact bucket s3://hookrelay-prod-artifacts",
        "handler package -> s3://hookrelay-prod-artifacts/handler/<sha256>.zip, "
        "handler/latest.json points at it",
        "chalice deploy --stage prod (provisioner/)",
        "ReportBatchItemFailures on provisioner's SQS mappings",
        "chalice deploy --stage prod (alarm-to-slack/)",
    ]
    if (ROOT / "sqs-mv" / "app.py").exists():
        expected.append("chalice deploy --stage prod (sqs-mv/)")
    assert steps == expected
    assert result.stdout.strip().endswith("dry run: nothing changed")


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = start_moto_server(0)
    url = endpoint_url(server)
    requests.post(f"{url}/moto-api/reset", timeout=5)  # moto's state is per process, shared by servers
    for key, value in {
        "AWS_ENDPOINT_URL": url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    aws.reset_clients()
    yield url
    aws.reset_clients()
    server.stop()


def results_mapping(url: str) -> str:
    """What `chalice deploy` of the provisioner makes: the recorder and its results-queue mapping."""
    lam = boto3.client("lambda", endpoint_url=url)
    iam = boto3.client("iam", endpoint_url=url)
    role = iam.create_role(RoleName="hookrelay-provisioner-dev", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(
        FunctionName="hookrelay-provisioner-dev-record_results",
        Runtime="python3.11",
        Role=role,
        Handler="app.record_results",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    queue = f"arn:aws:sqs:us-east-1:123456789012:{naming.results_queue('dev')}"
    mapping = lam.create_event_source_mapping(
        FunctionName="hookrelay-provisioner-dev-record_results", EventSourceArn=queue, BatchSize=10
    )
    return str(mapping["UUID"])


def test_deploy_creates_what_the_handler_needs_and_uploads_its_artifact(
    moto_env: str, tmp_path: Path
) -> None:
    # GIVEN AWS with the Slack secret, and a chalice that records what it was asked to do
    boto3.client("secretsmanager").create_secret(Name="hookrelay/dev/slack-webhook", SecretString="https://x")
    commands: list[tuple[str, str]] = []

    def chalice(command: list[str], cwd: Path) -> None:
        commands.append((Path(command[1]).name if "vendor_core" in command[1] else command[1], cwd.name))
        if command[1:2] == ["deploy"] and cwd.name == "provisioner":
            uuid = results_mapping(moto_env)
            record = {
                "resources": [
                    {
                        "name": "record_results-sqs-event-source",
                        "resource_type": "sqs_event",
                        "event_uuid": uuid,
                    }
                ]
            }
            (tmp_path / "provisioner").mkdir()
            (tmp_path / "provisioner" / "dev.json").write_text(json.dumps(record))

    deployment = Deployment(stage="dev", run=chalice, deployed=tmp_path)
    # WHEN every step of the plan runs
    for _, step in deployment.plan():
        step()
    # THEN the apps were vendored and deployed in order
    assert [c for c in commands if c[0] == "deploy"] == [
        ("deploy", app)
        for app in ("provisioner", "alarm-to-slack", "sqs-mv")
        if (ROOT / app / "app.py").exists()
    ]
    # AND the shared resources exist
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    assert {"hookrelay-dev-partners", "hookrelay-dev-deliveries"} <= set(tables)
    assert boto3.client("sqs").get_queue_url(QueueName="hookrelay-dev-results")["QueueUrl"]
    # AND the provisioner finds the handler package chalice built, through latest.json
    key = latest_artifact(BUCKET, Clients())
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert body[:2] == b"PK"
    assert key == naming.handler_artifact_key(hashlib.sha256(body).hexdigest())
    # AND the recorder's mapping reports batch item failures
    [mapping] = boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_deploy_stops_before_changing_anything_when_the_slack_secret_is_missing(moto_env: str) -> None:
    deployment = Deployment(stage="dev", run=lambda command, cwd: None)
    [(first, check), *_] = deployment.plan()
    assert first == "check: the Slack webhook secret hookrelay/dev/slack-webhook exists"
    with pytest.raises(SystemExit, match="create the secret hookrelay/dev/slack-webhook first"):
        check()
    assert boto3.client("dynamodb").list_tables()["TableNames"] == []


def test_rollback_points_latest_at_a_stored_artifact(
    moto_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two handler versions uploaded, the second the latest
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    old = upload_artifact(b"PK old", BUCKET, Clients())
    new = upload_artifact(b"PK new", BUCKET, Clients())
    # WHEN the artifacts are listed, and the first is rolled back to
    assert main(["--stage", "dev", "artifacts"]) == 0
    listing = capsys.readouterr().out
    assert main(["--stage", "dev", "rollback", old]) == 0
    # THEN the listing marked the newest, and latest.json now names the old one
    assert f"{new}  <- latest" in listing
    assert old in listing
    assert latest_artifact(BUCKET, Clients()) == old
    assert "now POST /update-code to roll it out" in capsys.readouterr().out


def test_rollback_refuses_a_key_that_is_not_a_stored_artifact(moto_env: str) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    current = upload_artifact(b"PK current", BUCKET, Clients())
    with pytest.raises(SystemExit, match="is not a stored handler artifact"):
        main(["--stage", "dev", "rollback", "handler/" + "0" * 64 + ".zip"])
    assert latest_artifact(BUCKET, Clients()) == current


def test_listing_artifacts_before_any_upload_is_one_clear_line(
    moto_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    assert main(["--stage", "dev", "artifacts"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("deploy stopped: cannot read the handler artifact pointer")
    assert "upload the handler first" in error
    assert "Traceback" not in error
