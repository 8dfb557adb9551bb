"""tools/vendor_core.py finds the core modules an app imports, transitively, from the source."""

from __future__ import annotations

from pathlib import Path

from tests.support.tools import load_tool

vendor_core = load_tool("vendor_core")


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_imports_inside_functions_relative_imports_and_package_inits_count(tmp_path: Path) -> None:
    # GIVEN a core package: the app imports wing.a; a imports b inside a function, b imports c relatively,
    # and the package's __init__ imports the kernel; wing.unused and other are imported by nobody
    write(
        tmp_path / "src",
        {
            "hookrelay/__init__.py": "",
            "hookrelay/kernel.py": "",
            "hookrelay/other/__init__.py": "",
            "hookrelay/wing/__init__.py": "from hookrelay import kernel\n",
            "hookrelay/wing/a.py": "def f():\n    from hookrelay.wing.b import g\n    return g\n",
            "hookrelay/wing/b.py": "from .c import NAME as g\n",
            "hookrelay/wing/c.py": "import json\nNAME = 1\n",
            "hookrelay/wing/unused.py": "import rich\n",
        },
    )
    write(tmp_path, {"app.py": "from chalice import Chalice\nfrom hookrelay.wing.a import f\n"})
    # WHEN the tool walks the imports from app.py
    found = vendor_core.core_modules(tmp_path / "app.py", tmp_path / "src")
    # THEN it finds exactly what runs, with the packages on the way
    assert found == {
        "hookrelay",
        "hookrelay.kernel",
        "hookrelay.wing",
        "hookrelay.wing.a",
        "hookrelay.wing.b",
        "hookrelay.wing.c",
    }


def test_only_the_found_modules_are_copied_at_their_paths(tmp_path: Path) -> None:
    write(
        tmp_path / "src",
        {"hookrelay/__init__.py": "", "hookrelay/w/__init__.py": "", "hookrelay/w/m.py": "X"},
    )
    vendor_core.copy_modules({"hookrelay", "hookrelay.w.m"}, tmp_path / "vendor", tmp_path / "src")
    copied = sorted(str(p.relative_to(tmp_path / "vendor")) for p in (tmp_path / "vendor").rglob("*.py"))
    assert copied == ["hookrelay/__init__.py", "hookrelay/w/m.py"]
