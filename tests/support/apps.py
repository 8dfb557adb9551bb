"""Importing an app's ``app.py`` in tests (every app's file has the same name, so each gets its own)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def load_app_file(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
