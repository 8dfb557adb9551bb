"""tools/render_config.py: each app's .chalice/config.json from the shared one, never half written."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.tools import load_tool


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, Path]:
    tool = load_tool("render_config")
    source = {
        "shared": {"version": "2.0", "stages": {"dev": {"environment_variables": {"A": "1"}}}},
        "apps": {"handler": {"app_name": "hookrelay-handler"}},
    }
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(source))
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    return tool, tmp_path / "handler" / ".chalice" / "config.json"


def test_rendering_writes_each_apps_config_with_its_app_tag(tree: tuple[ModuleType, Path]) -> None:
    tool, target = tree
    assert tool.main([]) == 0
    rendered = json.loads(target.read_text())
    assert rendered["stages"]["dev"] == {
        "environment_variables": {"A": "1"},
        "tags": {"app": "hookrelay-handler"},
    }
    assert tool.main(["--check"]) == 0


def test_an_unchanged_config_is_never_rewritten(tree: tuple[ModuleType, Path]) -> None:
    # GIVEN a rendered config (a reader, e.g. chalice in another test worker, may have it open)
    tool, target = tree
    tool.main([])
    before = target.stat()
    # WHEN it is rendered again with nothing changed
    assert tool.main([]) == 0
    # THEN the file is the same file, untouched (same inode, same modification time), no temp file left
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.json"]


def test_a_changed_config_replaces_the_file_whole(tree: tuple[ModuleType, Path]) -> None:
    tool, target = tree
    tool.main([])
    before = target.stat().st_ino
    source = target.parents[2] / ".chalice" / "config.json"
    changed = json.loads(source.read_text())
    changed["shared"]["stages"]["dev"]["environment_variables"]["A"] = "2"
    source.write_text(json.dumps(changed))
    assert tool.main(["--check"]) == 1
    assert tool.main([]) == 0
    # a new file moved into place (os.replace), never the old one truncated and refilled
    assert target.stat().st_ino != before
    assert json.loads(target.read_text())["stages"]["dev"]["environment_variables"] == {"A": "2"}
