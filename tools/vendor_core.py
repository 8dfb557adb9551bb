"""Place the core package into each app's vendor/ so `chalice package` bundles it.

Chalice bundles only app.py, chalicelib/, vendor/ and requirements.txt. The core lives once, in
src/hookrelay; this copies it (without caches) into <app>/vendor/hookrelay, which git ignores.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "src" / "hookrelay"


def vendor(app: str) -> Path:
    target = ROOT / app / "vendor" / "hookrelay"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(CORE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def main(apps: list[str]) -> int:
    for app in apps:
        if not (ROOT / app / "app.py").exists():
            print(f"no such app: {app}", file=sys.stderr)
            return 1
        print(f"vendored core into {vendor(app).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
