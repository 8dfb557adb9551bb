"""Every app's `chalice package` output (merge template applied) is a valid, observable, small deployment.

Packages are built offline and cached by content (hookrelay_local.artifacts), shared with the other
package tests; a cold build of every app takes ~30 s, a warm one nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hookrelay_local.artifacts import ROOT, ZIP_BUDGET_BYTES, build_app_package, present_apps, zip_problems

pytestmark = pytest.mark.e2e
STAGE = "dev"


@pytest.fixture(scope="module")
def packages() -> dict[str, Path]:
    return {app: build_app_package(app, STAGE) for app in present_apps()}


def resources(package: Path, kind: str) -> dict[str, dict[str, Any]]:
    template = json.loads((package / "sam.json").read_text())
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_cfn_lint_finds_nothing_in_any_template(packages: dict[str, Path]) -> None:
    # GIVEN every app's packaged template WHEN cfn-lint (offline, SAM transform included) reads them all
    templates = [str(p / "sam.json") for p in packages.values()]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *templates], capture_output=True, text=True
    )
    # THEN no error, warning or informational finding
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_every_function_is_traced(packages: dict[str, Path]) -> None:
    untraced = [
        f"{app}:{name}"
        for app, package in packages.items()
        for name, function in resources(package, "AWS::Serverless::Function").items()
        if function["Properties"].get("Tracing") != "Active"
    ]
    assert untraced == []


def test_every_functions_log_group_keeps_logs_for_the_stage_retention(packages: dict[str, Path]) -> None:
    retention = json.loads((ROOT / ".chalice" / "config.json").read_text())["shared"]["stages"][STAGE]
    for app, package in packages.items():
        # GIVEN the log groups of the template, by the function their name refers to
        groups = {
            g["Properties"]["LogGroupName"]["Fn::Sub"].removeprefix("/aws/lambda/${").rstrip("}"): g
            for g in resources(package, "AWS::Logs::LogGroup").values()
        }
        # THEN each function has one, with the stage's retention
        for name in resources(package, "AWS::Serverless::Function"):
            assert name in groups, f"{app}:{name} has no log group"
            assert groups[name]["Properties"]["RetentionInDays"] == retention["log_retention_in_days"]


def test_every_sqs_event_source_reports_batch_item_failures(packages: dict[str, Path]) -> None:
    sources = {
        f"{app}:{name}:{event_name}": event["Properties"]
        for app, package in packages.items()
        for name, function in resources(package, "AWS::Serverless::Function").items()
        for event_name, event in function["Properties"].get("Events", {}).items()
        if event["Type"] == "SQS"
    }
    # the provisioner's results recorder and the receiver's inbox at least
    assert {
        "provisioner:RecordResults:RecordResultsSqsEventSource",
        "receiver:Inbox:InboxSqsEventSource",
    } <= set(sources)
    without = {k for k, p in sources.items() if p.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]}
    assert without == set()


def test_every_zip_is_small_and_holds_only_what_lambda_needs(packages: dict[str, Path]) -> None:
    # no boto3/botocore (the runtime has them), no dev tools, no chalice CLI, under the budget
    assert ZIP_BUDGET_BYTES == 8 * 1024 * 1024
    problems = {app: zip_problems(p / "deployment.zip") for app, p in packages.items()}
    assert {app: found for app, found in problems.items() if found} == {}


def test_every_stage_of_every_app_turns_tracing_and_log_retention_on() -> None:
    for app in present_apps():
        config = json.loads((ROOT / app / ".chalice" / "config.json").read_text())
        for stage, settings in config["stages"].items():
            assert settings["xray"] is True, f"{app}/{stage}"
            assert settings["log_retention_in_days"] > 0, f"{app}/{stage}"
