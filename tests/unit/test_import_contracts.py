"""The import contracts in pyproject.toml (`make lint` runs them) fail on a wrong arrow, naming the contract.

Each case copies src/ to a temporary directory, adds one import a contract forbids, and runs
lint-imports with the project's own configuration against that copy (first on sys.path).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
LAYERS = "Imports flow down: wings -> attempts -> signing, partners -> aws -> the kernel"
CYCLES = "No import cycles between sibling modules or packages, at any depth"


def lint_copy(tmp_path: Path, module: str = "", line: str = "") -> subprocess.CompletedProcess[str]:
    """lint-imports over a copy of src/ in which ``module`` (a path under src/) got ``line`` appended."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    if module:
        with (src / module).open("a") as source:
            source.write(f"\n{line}\n")
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def broken(report: str) -> set[str]:
    """The contracts lint-imports reports BROKEN (one line each, in its summary)."""
    return {line.removesuffix(" BROKEN") for line in report.splitlines() if line.endswith(" BROKEN")}


def test_the_unchanged_sources_keep_every_contract(tmp_path: Path) -> None:
    result = lint_copy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 7 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contracts"),
    [
        (
            "hookrelay/delivery/attempt.py",
            "from hookrelay.provisioning import api",
            {"The wings never import each other"},
        ),
        (
            "hookrelay/errors.py",
            "from hookrelay.aws import clients",
            {LAYERS, CYCLES},  # aws imports errors: the arrow back is also a cycle
        ),
        (
            "hookrelay/receiving/inbox.py",
            "from hookrelay.partners import model",
            {"receiving ships to partners: it imports only the kernel, aws and signing"},
        ),
        (
            "hookrelay/attempts/log.py",
            "from hookrelay.signing import standard",
            {"attempts imports only the kernel, aws and partners"},
        ),
        (
            "hookrelay/aws/sqs.py",
            "from hookrelay_local import embedded_aws",
            {"The core never imports the local tooling"},
        ),
        (
            "hookrelay_local/artifacts.py",
            "from hookrelay_local import bootstrap",
            {CYCLES},
        ),
    ],
    ids=["wing-to-wing", "kernel-up", "receiving-partners", "attempts-signing", "core-local", "cycle"],
)
def test_a_wrong_arrow_fails_naming_its_contract(
    tmp_path: Path, module: str, line: str, contracts: set[str]
) -> None:
    # GIVEN a copy of the sources with one forbidden import added
    # WHEN lint-imports checks it with the project's contracts
    result = lint_copy(tmp_path, module, line)
    # THEN it fails, and the broken contract is the one that forbids that arrow
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken(result.stdout) == contracts
