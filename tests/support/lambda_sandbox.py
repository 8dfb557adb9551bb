"""Run a packaged app the way Lambda's Python runtime would: the zip and the runtime, nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3

# What every Python Lambda runtime provides besides the standard library.
LAMBDA_RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "six.py", "jmespath", "urllib3")


def invoke_packaged(
    zip_path: Path,
    workdir: Path,
    handler: str,
    event: dict[str, Any],
    env: dict[str, str],
    own_package: str = "pydantic",
    layer: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Unpack ``zip_path`` beside the runtime's packages and call ``app.<handler>(event, None)`` in
    ``python -S`` (no site-packages at all). ``own_package`` must come from the zip, or, given a
    ``layer`` zip, from the layer: unpacked as Lambda does (into /opt, with /opt/python on the path
    after the function's code). The handler's JSON answer is the last line of stdout.
    """
    code = workdir / "task"
    zipfile.ZipFile(zip_path).extractall(code)
    paths, origin = [code], code
    if layer is not None:
        opt = workdir / "opt"
        zipfile.ZipFile(layer).extractall(opt)
        paths.append(opt / "python")
        origin = opt / "python"
    runtime = workdir / "runtime"
    runtime.mkdir()
    site = Path(boto3.__file__).parent.parent
    for name in LAMBDA_RUNTIME_PACKAGES:
        if (site / name).exists():
            (runtime / name).symlink_to(site / name)
    paths.append(runtime)
    script = (
        "import json, sys\n"
        f"sys.path[:0] = {[str(path) for path in paths]!r}\n"
        f"import app, {own_package}\n"
        f"assert app.__file__.startswith({str(code)!r}), app.__file__\n"
        f"assert {own_package}.__file__.startswith({str(origin)!r}), {own_package}.__file__\n"
        f"print(json.dumps(app.{handler}(json.loads(sys.stdin.read()), None)))\n"
    )
    return subprocess.run(
        [sys.executable, "-S", "-c", script],
        input=json.dumps(event),
        env={"PATH": os.environ["PATH"], "HOOKRELAY_LOCAL_RUNTIME": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
