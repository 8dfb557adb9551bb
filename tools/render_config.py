"""Render the shared stage settings in .chalice/config.json into each app's .chalice/config.json.

python tools/render_config.py           write every app's config
python tools/render_config.py --check   exit 1 if any rendered config is stale
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def merge(base: Any, override: Any) -> Any:
    """Deep-merge dicts; anything else in ``override`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = copy.deepcopy(base)
        for key, value in override.items():
            merged[key] = merge(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def render(source: dict[str, Any]) -> dict[str, str]:
    """Map of app directory -> rendered config text."""
    rendered = {}
    for app, own in sorted(source["apps"].items()):
        config = merge(source["shared"], own)
        for stage in config.get("stages", {}).values():
            stage.setdefault("tags", {})["app"] = own["app_name"]
        rendered[app] = json.dumps(config, indent=2, sort_keys=True) + "\n"
    return rendered


def main(argv: list[str]) -> int:
    source = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stale = []
    for app, text in render(source).items():
        target = ROOT / app / ".chalice" / "config.json"
        if "--check" in argv:
            if not target.exists() or target.read_text() != text:
                stale.append(str(target.relative_to(ROOT)))
            continue
        if target.exists() and target.read_text() == text:
            continue  # unchanged: not rewritten, so a reader (chalice, another test) never sees it half done
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_text(text)
        os.replace(partial, target)  # atomic: a reader sees the old file or the new one, whole
    if stale:
        print("stale chalice configs (run `make config`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
