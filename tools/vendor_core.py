"""Fill each app's vendor/ (what `chalice package` bundles as-is) from this repo.

- The core package: src/hookrelay is copied (without caches) into <app>/vendor/hookrelay.
- <app>/vendor-requirements.txt, if present: packages installed into vendor/ WITHOUT their
  dependencies, as Lambda wheels. That is for libraries whose declared dependencies the Lambda
  runtime already has: aws-xray-sdk requires botocore, which `chalice package` would otherwise
  bundle (15 MB of the zip) although every Python Lambda runtime ships it.
vendor/ is gitignored: it is rebuilt, never hand-copied, never committed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "src" / "hookrelay"
LAMBDA_PLATFORM = ["--platform", "manylinux2014_x86_64", "--implementation", "cp"]


def vendor(app: str) -> Path:
    vendor_dir = ROOT / app / "vendor"
    if vendor_dir.exists():
        shutil.rmtree(vendor_dir)
    target = vendor_dir / "hookrelay"
    shutil.copytree(CORE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    extra = ROOT / app / "vendor-requirements.txt"
    if extra.exists():
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-compile",
                "--only-binary=:all:",
                *LAMBDA_PLATFORM,
                "--python-version",
                version,
                "--target",
                str(vendor_dir),
                "-r",
                str(extra),
            ],
            check=True,
        )
        for junk in vendor_dir.glob("*.dist-info"):
            shutil.rmtree(junk)
    return vendor_dir


def main(apps: list[str]) -> int:
    for app in apps:
        if not (ROOT / app / "app.py").exists():
            print(f"no such app: {app}", file=sys.stderr)
            return 1
        print(f"vendored into {vendor(app).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
