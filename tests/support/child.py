"""A Python script run in a fresh interpreter, as a test's child process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence


def run_python(
    script: str, *args: str, env: dict[str, str], stdin: str | None = None, flags: Sequence[str] = ()
) -> list[str]:
    """The lines ``script`` (``python <flags> -c``) printed, run with only ``env``; the test fails with
    the child's stderr if it did not exit 0."""
    child = subprocess.run(
        [sys.executable, *flags, "-c", script, *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    return child.stdout.splitlines()
