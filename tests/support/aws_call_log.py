"""Record the AWS calls apps really make in the tests, and check them against the static scan.

    pytest -p tests.support.aws_call_log ...      with HOOKRELAY_AWS_CALL_LOG=<dir>: record
    python -m tests.support.aws_call_log <dir>    compare with tests/support/aws_calls.py (make iam-audit)

A call is attributed to an app when ``<app>/app.py`` is on the stack (a call made by test set-up is
not), and to the outermost function of that app.py (``deliver``, ``record_results``...).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from botocore.client import BaseClient

from tests.support.aws_calls import IAM_NAMES, ROOT, app_actions

APPS = ("handler", "provisioner", "receiver", "alarm-to-slack", "sqs-mv")
_APP_FILES = {str(ROOT / app / "app.py"): app for app in APPS}


def _entry(frame: FrameType | None) -> tuple[str, str] | None:
    found = None
    while frame is not None:
        app = _APP_FILES.get(frame.f_code.co_filename)
        if app is not None:
            found = (app, frame.f_code.co_name)
        frame = frame.f_back
    return found


def record_to(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.jsonl"
    original = BaseClient._make_api_call

    def recording(client: Any, operation: str, params: Any) -> Any:
        entry = _entry(sys._getframe(1))
        if entry is not None:
            service = client.meta.service_model.service_name
            action = IAM_NAMES.get(f"{service}:{operation}", f"{service}:{operation}")
            with log.open("a") as out:
                out.write(json.dumps({"app": entry[0], "entry": entry[1], "action": action}) + "\n")
        return original(client, operation, params)

    BaseClient._make_api_call = recording


def pytest_configure(config: Any) -> None:
    directory = os.environ.get("HOOKRELAY_AWS_CALL_LOG")
    if directory:
        record_to(Path(directory))


def check(directory: Path) -> int:
    """Print, per app, recorded calls the static scan missed (a failure) and scanned calls never seen."""
    recorded: dict[tuple[str, str], set[str]] = {}
    for log in directory.glob("*.jsonl"):
        for line in log.read_text().splitlines():
            call = json.loads(line)
            recorded.setdefault((call["app"], call["entry"]), set()).add(call["action"])
    failed = False
    for app in APPS:
        seen = {a for (name, _), actions in recorded.items() if name == app for a in actions}
        if not seen:
            print(f"{app}: no calls recorded")
            continue
        scanned = set(app_actions(app))
        missed = seen - scanned
        for (name, entry), actions in sorted(recorded.items()):
            if name == app and app == "handler":  # the handler's functions run in different roles
                missed |= actions - set(app_actions(app, (entry,)))
        failed = failed or bool(missed)
        print(f"{app}: {len(seen)} actions recorded, {len(scanned)} scanned")
        print(f"   recorded, missed by the scan: {sorted(missed)}")
        print(f"   scanned, never recorded: {sorted(scanned - seen)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(check(Path(sys.argv[1])))
