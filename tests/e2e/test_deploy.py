"""make deploy: refuses without a stage, shows its plan, and against AWS (moto's server here) creates the
shared resources, uploads the handler's build (code zip + dependency layer zip) where the provisioner
reads it, turns on partial batch responses on the mappings chalice made; rollback re-points the
artifact at an older pair. `chalice deploy` is faked."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from hookrelay import naming
from hookrelay.aws import clients as aws
from hookrelay.aws.clients import Clients
from hookrelay.provisioning.resources.artifact import Artifact, latest_artifact, upload_artifact
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
        "shared resources: tables hookrelay-prod-partners, hookrelay-prod-deliveries, "
        "hookrelay-prod-rollouts; queues hookrelay-prod-results (DLQ hookrelay-prod-results-dlq), "
        "hookrelay-prod-rollouts (and its DLQ), hookrelay-prod-alarm-failures; topic hookrelay-prod-alarms; "
        "the stage alarms hookrelay-prod-partners-*, hookrelay-prod-results-dlq-depth, "
        "hookrelay-prod-alarm-failures-dlq-depth; the shared handler role if HANDLER_ROLE=shared",
        "artifact bucket s3://hookrelay-prod-artifacts",
        "handler package -> s3://hookrelay-prod-artifacts/handler/<sha256>.zip, its dependency layer -> "
        "handler/layers/<sha256>.zip, handler/latest.json points at both",
        "chalice deploy --stage prod (provisioner/)",
        "provisioner: logs.amazonaws.com may invoke hookrelay-provisioner-prod-record_attempt_lines for "
        "/aws/lambda/hookrelay-prod-*; async retries 2, then on failure to hookrelay-prod-results-dlq",
        "ReportBatchItemFailures on provisioner's SQS mappings",
        "chalice deploy --stage prod (alarm-to-slack/)",
        "alarm-to-slack: async retries 2, then on failure to hookrelay-prod-alarm-failures",
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
    lam.create_function(  # the attempt recorder (issue 15): the partners' log groups are subscribed to it
        FunctionName="hookrelay-provisioner-dev-record_attempt_lines",
        Runtime="python3.11",
        Role=role,
        Handler="app.record_attempt_lines",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    queue = f"arn:aws:sqs:us-east-1:123456789012:{naming.results_queue('dev')}"
    mapping = lam.create_event_source_mapping(
        FunctionName="hookrelay-provisioner-dev-record_results", EventSourceArn=queue, BatchSize=10
    )
    return str(mapping["UUID"])


ALARM_FUNCTION = "hookrelay-alarm-to-slack-dev-forward"


def alarm_function(url: str) -> str:
    """What `chalice deploy` of alarm-to-slack makes: its forward function; returns its ARN."""
    iam = boto3.client("iam", endpoint_url=url)
    role = iam.create_role(RoleName="hookrelay-alarm-to-slack-dev", AssumeRolePolicyDocument="{}")["Role"]
    created = boto3.client("lambda", endpoint_url=url).create_function(
        FunctionName=ALARM_FUNCTION,
        Runtime="python3.11",
        Role=role["Arn"],
        Handler="app.forward",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    return str(created["FunctionArn"])


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
        if command[1:2] == ["deploy"] and cwd.name == "alarm-to-slack":
            arn = alarm_function(moto_env)
            record = {
                "resources": [{"name": "forward", "resource_type": "lambda_function", "lambda_arn": arn}]
            }
            (tmp_path / "alarm-to-slack").mkdir()
            (tmp_path / "alarm-to-slack" / "dev.json").write_text(json.dumps(record))

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
    # AND the provisioner finds the handler's build, both zips content-addressed, through latest.json
    latest = latest_artifact(BUCKET, Clients())
    code = boto3.client("s3").get_object(Bucket=BUCKET, Key=latest.code_key)["Body"].read()
    assert latest.layer_key is not None
    layer = boto3.client("s3").get_object(Bucket=BUCKET, Key=latest.layer_key)["Body"].read()
    assert latest.code_key == naming.handler_artifact_key(hashlib.sha256(code).hexdigest())
    assert latest.layer_key == naming.handler_layer_key(hashlib.sha256(layer).hexdigest())
    assert zipfile.ZipFile(io.BytesIO(code)).namelist()[0] == "app.py"
    assert all(n.startswith("python/") for n in zipfile.ZipFile(io.BytesIO(layer)).namelist())
    # AND the recorder's mapping reports batch item failures
    [mapping] = boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # AND the results queue redrives to its DLQ
    results = boto3.client("sqs").get_queue_url(QueueName="hookrelay-dev-results")["QueueUrl"]
    redrive = boto3.client("sqs").get_queue_attributes(QueueUrl=results, AttributeNames=["RedrivePolicy"])
    assert json.loads(redrive["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:hookrelay-dev-results-dlq",
        "maxReceiveCount": 5,
    }
    # AND the attempt recorder may be invoked by CloudWatch Logs, and keeps what it cannot record in the
    # results DLQ after two async retries
    recorder = "hookrelay-provisioner-dev-record_attempt_lines"
    (statement,) = json.loads(boto3.client("lambda").get_policy(FunctionName=recorder)["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "logs.amazonaws.com"}
    config = boto3.client("lambda").get_function_event_invoke_config(FunctionName=recorder)
    assert config["DestinationConfig"]["OnFailure"] == {
        "Destination": "arn:aws:sqs:us-east-1:123456789012:hookrelay-dev-results-dlq"
    }
    # AND alarm-to-slack's dropped alarms go to the alarm-failures queue after two async retries
    config = boto3.client("lambda").get_function_event_invoke_config(FunctionName=ALARM_FUNCTION)
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (2, 3600)
    assert config["DestinationConfig"]["OnFailure"] == {
        "Destination": "arn:aws:sqs:us-east-1:123456789012:hookrelay-dev-alarm-failures"
    }


def test_deploy_stops_before_changing_anything_when_the_slack_secret_is_missing(moto_env: str) -> None:
    deployment = Deployment(stage="dev", run=lambda command, cwd: None)
    [(first, check), *_] = deployment.plan()
    assert first == "check: the Slack webhook secret hookrelay/dev/slack-webhook exists"
    with pytest.raises(SystemExit, match="create the secret hookrelay/dev/slack-webhook first"):
        check()
    assert boto3.client("dynamodb").list_tables()["TableNames"] == []


def test_rollback_points_latest_at_a_stored_pair(moto_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN two handler builds uploaded (code and layer each), the second the latest
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    old = upload_artifact(b"PK old", BUCKET, Clients(), layer=b"PK old deps")
    new = upload_artifact(b"PK new", BUCKET, Clients(), layer=b"PK new deps")
    # WHEN the artifacts are listed, and the first is rolled back to
    assert main(["--stage", "dev", "artifacts"]) == 0
    listing = capsys.readouterr().out
    assert main(["--stage", "dev", "rollback", old.code_key]) == 0
    # THEN the listing showed the two builds' code zips (not their layers), the newest marked
    assert f"{new.code_key}  <- latest" in listing
    assert sorted(line.split()[1] for line in listing.splitlines()) == sorted([new.code_key, old.code_key])
    # AND latest.json now names the old pair, code and layer
    assert latest_artifact(BUCKET, Clients()) == old
    said = capsys.readouterr().out
    assert f"-> {old.code_key} + layer {old.layer_key}; now POST /update-code to roll it out" in said


def test_rollback_to_a_zip_from_before_the_layer_points_at_it_alone(
    moto_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a self-contained zip stored the old way (no manifest, a key-only pointer), then a layered build
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    fat = naming.handler_artifact_key("f" * 64)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=fat, Body=b"PK fat")
    s3.put_object(Bucket=BUCKET, Key=naming.HANDLER_ARTIFACT_POINTER, Body=json.dumps({"key": fat}).encode())
    assert latest_artifact(BUCKET, Clients()) == Artifact(bucket=BUCKET, code_key=fat)
    upload_artifact(b"PK new", BUCKET, Clients(), layer=b"PK deps")
    # WHEN it is rolled back to
    assert main(["--stage", "dev", "rollback", fat]) == 0
    # THEN latest.json names it with no layer (it carries its own dependencies)
    assert latest_artifact(BUCKET, Clients()) == Artifact(bucket=BUCKET, code_key=fat)
    assert f"-> {fat} (no layer: a self-contained zip)" in capsys.readouterr().out


def test_rollback_refuses_a_key_that_is_not_a_stored_artifact(moto_env: str) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    current = upload_artifact(b"PK current", BUCKET, Clients(), layer=b"PK deps")
    with pytest.raises(SystemExit, match="is not a stored handler artifact"):
        main(["--stage", "dev", "rollback", "handler/" + "0" * 64 + ".zip"])
    with pytest.raises(SystemExit, match="is not a stored handler artifact"):
        main(["--stage", "dev", "rollback", current.layer_key or ""])  # a layer zip is not a build
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
