"""Each app's `chalice package` zip ships only the wings its app.py imports (tools/vendor_core.py).

Builds are the cached ones the other package tests share (hookrelay_local.artifacts). The assertions
name what must NOT be in a zip: another wing's code, the local tooling, `rich` (a CLI dependency).
"""

from __future__ import annotations

import zipfile

import pytest

from hookrelay_local.artifacts import build_app_zip, present_apps

pytestmark = pytest.mark.e2e

KERNEL = {
    "__init__.py",
    "errors.py",
    "models.py",
    "naming.py",
    "settings.py",
    "app_settings.py",
    "observability.py",
    "caching.py",
    "retry.py",
    "ssrf.py",
}
WINGS = {"delivery", "provisioning", "receiving", "alarms", "mover"}
# What each app's zip must not hold under hookrelay/: every wing but its own (the provisioner also
# lacks the data plane); paths are relative to hookrelay/.
ABSENT = {
    "handler": WINGS - {"delivery"},
    "provisioner": WINGS - {"provisioning"},
    "receiver": WINGS - {"receiving"} | {"partners", "attempts"},
    "alarm-to-slack": WINGS - {"alarms"} | {"signing", "partners", "attempts"},
    "sqs-mv": WINGS - {"mover"} | {"signing", "partners", "attempts", "mover/cli.py"},
}
RECEIVER_BUDGET_BYTES = int(3.8 * 1024 * 1024)  # 3.82 MiB when every app carried the whole core
# The handler still imports the stage-wide results recorder (provisioning.settings) until it moves to
# the provisioner app; from then on (no `record_results` in handler/app.py) its assertion holds strictly.


def names(app: str) -> list[str]:
    return zipfile.ZipFile(build_app_zip(app, "dev")).namelist()


def core_paths(app: str) -> set[str]:
    """The zip's files under hookrelay/, relative to it."""
    return {n.removeprefix("hookrelay/") for n in names(app) if n.startswith("hookrelay/")}


def present(paths: set[str], absent: set[str]) -> set[str]:
    """Which of ``absent`` (files, or packages meaning every file under them) are in ``paths``."""
    return {a for a in absent if a in paths or any(p.startswith(a + "/") for p in paths)}


@pytest.mark.parametrize("app", present_apps())
def test_an_app_zip_holds_no_other_wing(app: str) -> None:
    # GIVEN an app's packaged zip WHEN its core files are listed THEN no other wing's code is among them
    paths = core_paths(app)
    assert "__init__.py" in paths
    assert present(paths, ABSENT[app]) == set()


@pytest.mark.parametrize("app", present_apps())
def test_no_lambda_bundles_rich_or_the_local_tooling(app: str) -> None:
    top = {n.split("/", 1)[0] for n in names(app)}
    assert top & {"rich", "hookrelay_local"} == set()
    assert [n for n in names(app) if "hookrelay_local" in n] == []


def test_the_receiver_ships_only_the_kernel_aws_signing_and_receiving() -> None:
    # GIVEN the zip a partner deploys WHEN its core files are grouped by package or kernel module
    tops = {p.split("/", 1)[0] for p in core_paths("receiver")}
    # THEN nothing outside the kernel and the three packages receiving may use
    assert tops - KERNEL == {"aws", "signing", "receiving"}


def test_the_receiver_zip_is_smaller_than_when_it_carried_the_whole_core() -> None:
    size = build_app_zip("receiver", "dev").stat().st_size
    assert size < RECEIVER_BUDGET_BYTES, f"{size / 1024:.0f} KiB"


def test_the_sqs_mv_lambda_gets_the_mover_engine_but_not_its_cli() -> None:
    paths = core_paths("sqs-mv")
    assert {"mover/engine.py", "mover/request.py"} <= paths
    assert "mover/cli.py" not in paths
