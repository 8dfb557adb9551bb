"""Deploy a stage to AWS: shared resources, the handler artifact, every platform app by `chalice deploy`.

python -m hookrelay_local.deploy --stage dev [--dry-run]      the plan, then each step (make deploy)
python -m hookrelay_local.deploy --stage dev artifacts        stored handler artifacts, newest first
python -m hookrelay_local.deploy --stage dev rollback KEY     point handler/latest.json at an older build

Order: the shared resources first (``ensure_shared``: the same idempotent code the local stack uses, so
there is one definition of them), then the handler's build (`chalice package`, split into its code zip
and its dependency layer zip) uploaded where the provisioner takes it from (the layer becomes a Lambda
layer version at the first create or update-code that needs it; the handler app is never `chalice
deploy`ed: it runs only as each partner's function), then the apps that use all that, each followed
by ReportBatchItemFailures on every SQS mapping `chalice deploy` made for it (Chalice cannot set it;
the provisioner's results recorder has one) and, for alarm-to-slack, its on-failure destination
(:mod:`hookrelay_local.alarm_failures`); for the provisioner, its attempt recorder's wiring (CloudWatch
Logs may invoke it for the stage's partner log groups; lines it cannot record go to the results DLQ:
:func:`hookrelay.provisioning.resources.attempt_filter.ensure_recorder_wiring`). The receiver is not
deployed: partners deploy it (docs/receiver.md). AWS comes from the usual credential chain;
``AWS_ENDPOINT_URL`` points it elsewhere (the tests use moto's server).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, has_code
from hookrelay.errors import HookrelayError
from hookrelay.provisioning.resources.artifact import (
    latest_artifact,
    point_latest_at,
    stored_artifact,
    upload_artifact,
)
from hookrelay.provisioning.resources.attempt_filter import ensure_recorder_wiring, recorder_function
from hookrelay.provisioning.resources.message_bodies import ensure_message_body_expiry
from hookrelay.provisioning.resources.shared import ensure_shared
from hookrelay.provisioning.settings import ProvisionerSettings
from hookrelay_local import alarm_failures
from hookrelay_local.artifacts import ROOT, BuildFailed, build_handler_artifact, present_apps
from hookrelay_local.capacity_report import show_capacity

# Deployed by `make deploy`, in this order, after the handler artifact (receiver: see the module docstring).
PLATFORM_APPS = ("provisioner", "alarm-to-slack", "sqs-mv")
RESPONSE_TYPES = ["ReportBatchItemFailures"]

Runner = Callable[[list[str], Path], None]


def run_command(command: list[str], cwd: Path) -> None:
    print(f"   $ (cd {cwd.relative_to(ROOT)} && {' '.join(command)})", flush=True)
    subprocess.run(command, cwd=cwd, check=True)


@dataclass
class Deployment:
    stage: str
    clients: Clients = field(default_factory=Clients)
    run: Runner = run_command
    apps: tuple[str, ...] = ()
    deployed: Path | None = None  # else chalice's own record of what it deployed, <app>/.chalice/deployed/

    def __post_init__(self) -> None:
        if not self.apps:
            self.apps = tuple(app for app in PLATFORM_APPS if app in present_apps())

    def app_environment(self, app: str) -> dict[str, str]:
        """The stage's environment variables in the app's rendered .chalice/config.json."""
        config = json.loads((ROOT / app / ".chalice" / "config.json").read_text())
        return dict(config.get("stages", {}).get(self.stage, {}).get("environment_variables", {}))

    def provisioner_settings(self) -> ProvisionerSettings:
        """The deployed provisioner's settings (its stage environment in .chalice/config.json): what the
        shared resources depend on (the stage alarms' threshold, a shared handler role)."""
        env = {**self.app_environment("provisioner"), "HOOKRELAY_STAGE": self.stage}
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            return ProvisionerSettings()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    @property
    def bucket(self) -> str:
        """The provisioner's artifact bucket: its stage setting if the config sets one, else the default."""
        env = self.app_environment("provisioner")
        return env.get("HOOKRELAY_ARTIFACT_BUCKET") or naming.artifact_bucket(self.stage)

    def check_secret(self, secret_id: str) -> None:
        try:
            self.clients.secretsmanager.describe_secret(SecretId=secret_id)
        except Exception as exc:
            if has_code(exc, "ResourceNotFoundException"):
                raise SystemExit(f"create the secret {secret_id} first (docs/deploy.md)") from exc
            raise

    def plan(self) -> list[tuple[str, Callable[[], None]]]:
        stage = self.stage
        steps: list[tuple[str, Callable[[], None]]] = []
        if "alarm-to-slack" in self.apps:
            secret = self.app_environment("alarm-to-slack").get("HOOKRELAY_SLACK_WEBHOOK_SECRET_ID", "")
            steps.append(
                (f"check: the Slack webhook secret {secret} exists", lambda: self.check_secret(secret))
            )
        steps += [
            (
                f"shared resources: tables {naming.partners_table(stage)}, {naming.deliveries_table(stage)}, "
                f"{naming.rollouts_table(stage)}; queues {naming.results_queue(stage)} (DLQ "
                f"{naming.results_dead_letter_queue(stage)}), {naming.rollout_queue(stage)} (and its DLQ), "
                f"{naming.alarm_failures_queue(stage)}; topic {naming.alarm_topic(stage)}; the stage alarms "
                f"{naming.prefix(stage)}-{naming.EVERY_PARTNER}-*, {naming.results_dlq_alarm(stage)}, "
                f"{naming.alarm_failures_alarm(stage)}; the shared handler role if HANDLER_ROLE=shared",
                lambda: print(f"   {ensure_shared(stage, self.clients, self.provisioner_settings())}"),
            ),
            (f"artifact bucket s3://{self.bucket}", self.ensure_bucket),
            (
                f"handler package -> s3://{self.bucket}/handler/<sha256>.zip, its dependency layer -> "
                f"handler/layers/<sha256>.zip, {naming.HANDLER_ARTIFACT_POINTER} points at both",
                self.upload_handler,
            ),
        ]
        for app in self.apps:
            steps.append(
                (f"chalice deploy --stage {stage} ({app}/)", lambda app=app: self.chalice_deploy(app))
            )
            if app == "provisioner":
                steps.append(
                    (
                        f"provisioner: logs.amazonaws.com may invoke {recorder_function(stage)} for "
                        f"/aws/lambda/{naming.prefix(stage)}-*; async retries 2, then on failure to "
                        f"{naming.results_dead_letter_queue(stage)}",
                        self.recorder_wiring,
                    )
                )
            if app == alarm_failures.APP:
                steps.append(
                    (
                        f"{app}: async retries {alarm_failures.MAX_RETRIES}, then on failure to "
                        f"{naming.alarm_failures_queue(stage)}",
                        self.alarm_failures,
                    )
                )
            if "on_sqs_message" in (ROOT / app / "app.py").read_text():
                steps.append(
                    (
                        f"ReportBatchItemFailures on {app}'s SQS mappings",
                        lambda app=app: self.batch_failures(app),
                    )
                )
        return steps

    def ensure_bucket(self) -> None:
        region = self.clients.s3.meta.region_name
        location = (
            {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        try:
            self.clients.s3.create_bucket(Bucket=self.bucket, **location)
        except Exception as exc:
            if not has_code(exc, "BucketAlreadyOwnedByYou"):
                raise
        block = dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        )
        self.clients.s3.put_public_access_block(Bucket=self.bucket, PublicAccessBlockConfiguration=block)
        ensure_message_body_expiry(self.bucket, self.provisioner_settings().messages_ttl_days, self.clients)

    def chalice_deploy(self, app: str) -> None:
        self.run([sys.executable, str(ROOT / "tools" / "vendor_core.py"), app], ROOT)
        self.run([str(Path(sys.executable).parent / "chalice"), "deploy", "--stage", self.stage], ROOT / app)

    def record(self, app: str) -> Path:
        """Chalice's record of what it deployed of ``app`` for the stage."""
        records = self.deployed / app if self.deployed else ROOT / app / ".chalice" / "deployed"
        return records / f"{self.stage}.json"

    def alarm_failures(self) -> None:
        function = alarm_failures.deployed_function_arn(
            self.record(alarm_failures.APP), alarm_failures.FUNCTION
        )
        destination = alarm_failures.send_failures_to_queue(self.stage, function, self.clients)
        print(f"   {function}: on failure -> {destination}")

    def recorder_wiring(self) -> None:
        arn = ensure_recorder_wiring(self.stage, self.clients)
        print(f"   {arn}: the partners' attempt lines, then the results DLQ")

    def batch_failures(self, app: str) -> None:
        """Every SQS mapping chalice recorded for the app reports batch item failures."""
        deployed = self.record(app)
        resources = json.loads(deployed.read_text())["resources"] if deployed.exists() else []
        for resource in resources:
            if resource.get("resource_type") == "sqs_event":
                self.clients.lambda_.update_event_source_mapping(
                    UUID=resource["event_uuid"], FunctionResponseTypes=RESPONSE_TYPES
                )
                print(f"   {resource['name']}: {RESPONSE_TYPES[0]} on")

    def upload_handler(self) -> None:
        build = build_handler_artifact(self.stage)
        stored = upload_artifact(
            build.code.read_bytes(), self.bucket, self.clients, layer=build.layer.read_bytes()
        )
        print(f"   s3://{self.bucket}/{stored.code_key} ({build.code.stat().st_size / 1024:.0f} KiB)")
        print(f"   s3://{self.bucket}/{stored.layer_key} ({build.layer.stat().st_size / 1024:.0f} KiB)")


def artifacts(bucket: str, clients: Clients) -> list[tuple[str, str, bool]]:
    """(code key, last modified, is latest) of each stored handler build, newest first (layer zips,
    under handler/layers/, are listed with the build that names them: see :func:`rollback`)."""
    latest = latest_artifact(bucket, clients).code_key
    pages = clients.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="handler/")
    found = [
        o
        for page in pages
        for o in page.get("Contents", [])
        if o["Key"].endswith(".zip") and o["Key"].count("/") == 1
    ]
    found.sort(key=lambda o: o["LastModified"], reverse=True)
    return [(o["Key"], o["LastModified"].isoformat(), o["Key"] == latest) for o in found]


def rollback(bucket: str, key: str, clients: Clients) -> str:
    """Point handler/latest.json at a stored build: the code zip ``key`` and the layer it was uploaded
    with (none for a zip from before the layer); return what it points at now. Then POST
    /update-code rolls it out."""
    if key not in {k for k, _, _ in artifacts(bucket, clients)}:
        raise SystemExit(f"s3://{bucket}/{key} is not a stored handler artifact (see the artifacts command)")
    build = stored_artifact(bucket, key, clients)
    point_latest_at(build, clients)
    if build.layer_key is None:
        return f"{key} (no layer: a self-contained zip)"
    return f"{key} + layer {build.layer_key}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hookrelay_local.deploy", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--stage", required=True, choices=["dev", "prod"])
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("artifacts", help="list the stored handler artifacts, newest first")
    back = commands.add_parser("rollback", help="point handler/latest.json at a stored artifact")
    back.add_argument("key", help="handler/<sha256>.zip, from the artifacts command")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (HookrelayError, BuildFailed, OSError, subprocess.CalledProcessError, *AWS_ERRORS) as exc:
        message = exc.message if isinstance(exc, HookrelayError) else str(exc)
        print(f"deploy stopped: {message}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    deployment = Deployment(stage=args.stage)
    if args.command == "artifacts":
        for key, modified, latest in artifacts(deployment.bucket, deployment.clients):
            print(f"{modified}  {key}{'  <- latest' if latest else ''}")
        return 0
    if args.command == "rollback":
        now = rollback(deployment.bucket, args.key, deployment.clients)
        print(f"{naming.HANDLER_ARTIFACT_POINTER} -> {now}; now POST /update-code to roll it out")
        return 0
    steps = deployment.plan()
    print(f"Deploying stage {args.stage} ({len(steps)} steps):")
    for number, (what, _) in enumerate(steps, 1):
        print(f"{number:>2}. {what}")
    if args.dry_run:
        show_capacity(args.stage, deployment.clients)
        print("dry run: nothing changed")
        return 0
    for number, (what, step) in enumerate(steps, 1):
        print(f"[{number}/{len(steps)}] {what}", flush=True)
        step()
    print(f"stage {args.stage} deployed; roll the handler out to partners with POST /update-code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
