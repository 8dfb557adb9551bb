"""The package report names what must not be in a Lambda zip, and a zip over the size budget."""

from __future__ import annotations

import zipfile
from pathlib import Path

from hookrelay_local.artifacts import ZIP_BUDGET_BYTES, zip_problems


def make_zip(path: Path, names: list[str], padding: int = 0) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in names:
            archive.writestr(name, "")
        if padding:
            archive.writestr("padding.bin", b"\0" * padding)
    return path


def test_a_zip_of_only_the_app_and_its_imports_passes(tmp_path: Path) -> None:
    names = ["app.py", "hookrelay/__init__.py", "pydantic/__init__.py", "chalice/app.py"]
    assert zip_problems(make_zip(tmp_path / "ok.zip", names)) == []


def test_botocore_the_chalice_cli_and_dev_tools_are_each_named(tmp_path: Path) -> None:
    names = ["app.py", "botocore/client.py", "boto3/session.py", "moto/core.py", "chalice/cli/__init__.py"]
    assert zip_problems(make_zip(tmp_path / "fat.zip", names)) == [
        "boto3/ is bundled",
        "botocore/ is bundled",
        "moto/ is bundled",
        "the chalice CLI is bundled (1 files, e.g. chalice/cli/__init__.py)",
    ]


def test_a_zip_over_the_budget_is_reported(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "big.zip", ["app.py"], padding=ZIP_BUDGET_BYTES)
    [problem] = zip_problems(package)
    assert problem.endswith("KiB is over the 8192 KiB budget")
