"""Fill each app's vendor/ (what `chalice package` bundles as-is) with what that app runs.

- The core package, only the wings the app imports: starting from ``<app>/app.py``, every
  ``hookrelay`` module it imports, transitively (imports inside functions and under TYPE_CHECKING
  count too: read from the source, not from a hand list), plus the ``__init__.py`` of every package on
  their path, is copied into <app>/vendor/hookrelay. The receiver a partner deploys carries no
  provisioning code; no Lambda carries ``mover.cli`` (and with it ``rich``) unless its app imports it.
- <app>/vendor-requirements.txt, if present: packages installed into vendor/ WITHOUT their
  dependencies, as Lambda wheels. That is for libraries whose declared dependencies the Lambda
  runtime already has: aws-xray-sdk requires botocore, which `chalice package` would otherwise
  bundle (15 MB of the zip) although every Python Lambda runtime ships it.
vendor/ is gitignored: it is rebuilt, never hand-copied, never committed.

python tools/vendor_core.py handler receiver ...          vendor each app
python tools/vendor_core.py --list receiver                print the modules an app would get, vendor nothing
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
CORE_PACKAGE = "hookrelay"
LAMBDA_PLATFORM = ["--platform", "manylinux2014_x86_64", "--implementation", "cp"]


def module_file(module: str, src: Path = SRC) -> Path | None:
    """The source file of a dotted module name under ``src``: ``a/b.py`` or ``a/b/__init__.py``."""
    base = src.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(source: Path, module: str | None = None) -> set[str]:
    """Every dotted name a file imports, anywhere in it; ``from a import b`` gives ``a`` and ``a.b``."""
    names: set[str] = set()
    is_package = source.name == "__init__.py"
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _absolute(node: ast.ImportFrom, module: str | None, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    if module is None:
        raise ValueError(f"relative import outside a package: line {node.lineno}")
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def core_modules(app_file: Path, src: Path = SRC) -> set[str]:
    """The core modules ``app_file`` imports, transitively, with every package on their path."""
    found: set[str] = set()
    pending = [name for name in imported_names(app_file) if _in_core(name)]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # a module's packages run their __init__ first
            module = ".".join(parts[:depth])
            path = module_file(module, src)
            if module in found or path is None:  # None: a name imported from a module, not a module
                continue
            found.add(module)
            pending.extend(n for n in imported_names(path, module) if _in_core(n))
    return found


def _in_core(name: str) -> bool:
    return name == CORE_PACKAGE or name.startswith(CORE_PACKAGE + ".")


def copy_modules(modules: set[str], target: Path, src: Path = SRC) -> None:
    """Copy each module's source file to the same relative path under ``target``."""
    for module in sorted(modules):
        path = module_file(module, src)
        assert path is not None, module
        destination = target / path.relative_to(src)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def vendor(app: str) -> Path:
    vendor_dir = ROOT / app / "vendor"
    if vendor_dir.exists():
        shutil.rmtree(vendor_dir)
    copy_modules(core_modules(ROOT / app / "app.py"), vendor_dir)
    extra = ROOT / app / "vendor-requirements.txt"
    if extra.exists():
        _install_without_dependencies(extra, vendor_dir)
    return vendor_dir


def _install_without_dependencies(requirements: Path, vendor_dir: Path) -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--no-deps", "--no-compile", "--only-binary=:all:", *LAMBDA_PLATFORM),
            *("--python-version", version, "--target", str(vendor_dir), "-r", str(requirements)),
        ],
        check=True,
    )
    for junk in vendor_dir.glob("*.dist-info"):
        shutil.rmtree(junk)


def main(argv: list[str]) -> int:
    listing = bool(argv) and argv[0] == "--list"
    for app in argv[1:] if listing else argv:
        if not (ROOT / app / "app.py").exists():
            print(f"no such app: {app}", file=sys.stderr)
            return 1
        if listing:
            print("\n".join(sorted(core_modules(ROOT / app / "app.py"))))
        else:
            print(f"vendored into {vendor(app).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
