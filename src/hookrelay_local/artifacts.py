"""Build the handler's Lambda package the way a deployment does (`chalice package`), cached by content.

The local stack uploads this very zip to the embedded S3, so the partners' functions it creates point
at the same artifact a real deployment would.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "local"


def _fingerprint(app: str) -> str:
    digest = hashlib.sha256()
    for base in (ROOT / app, ROOT / "src" / "hookrelay"):
        for path in sorted(base.rglob("*")):
            if path.is_file() and "vendor" not in path.parts and "__pycache__" not in path.parts:
                if ".chalice" in path.parts and "deployments" in path.parts:
                    continue
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_app_zip(app: str = "handler", stage: str = "dev") -> Path:
    """Return the path of ``<app>``'s deployment.zip, packaging it only when its sources changed."""
    target = BUILD / f"{app}-{_fingerprint(app)}" / "deployment.zip"
    if target.exists():
        return target
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "vendor_core.py"), app],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    out = target.parent
    if out.exists():
        shutil.rmtree(out)
    chalice = Path(sys.executable).parent / "chalice"
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    subprocess.run(
        [str(chalice), "package", "--stage", stage, str(out)],
        check=True,
        cwd=ROOT / app,
        env=env,
        capture_output=True,
    )
    return target
