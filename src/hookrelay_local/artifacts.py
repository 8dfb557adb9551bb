"""Build each app's Lambda package the way a deployment does (`chalice package`), cached by content.

An app with ``.chalice/merge-template.json`` is packaged with ``--merge-template`` (what Chalice cannot
set itself, such as ReportBatchItemFailures on its SQS mappings).

The handler's package is then split in two (:func:`build_handler_artifact`): ``function.zip``,
hookrelay's own code (``app.py`` and the core modules it imports: what each partner function carries),
and ``layer.zip``, everything else under ``python/`` (the third-party dependencies: the stage's one
shared Lambda layer). Both carry their modules' bytecode (Lambda's file system is read-only: without
it every cold start compiles), compiled in a fresh interpreter so that it too is reproducible. Both are
written byte-for-byte reproducibly (sorted entries, fixed timestamps and modes), so their
content-addressed keys change only when their content does: a code-only change reuses the published
layer. The local stack uploads both to the embedded S3, so the partners' functions it creates point
at the same artifact a real deployment would; `make package`, `make deploy` and the template tests use
the same builds.

python -m hookrelay_local.artifacts --stage dev handler provisioner ...   build into build/<app>/, print sizes
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hookrelay.provisioning.settings import ProvisionerSettings

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "local"
MERGE_TEMPLATE = Path(".chalice") / "merge-template.json"
# Every app, in deployment order: the handler's stack first (the results recorder; its zip is the
# partners' artifact), then the apps that use what it and the shared resources provide.
APPS = ("handler", "provisioner", "alarm-to-slack", "sqs-mv", "receiver")
ZIP_BUDGET_BYTES = 8 * 1024 * 1024
# Never in a zip: the Lambda runtime provides boto3/botocore; the rest are development tools.
NOT_BUNDLED = frozenset({"boto3", "botocore", "moto", "rich", "hookrelay_local", "cfnlint", "pytest"})
CHALICE_RUNTIME = frozenset(
    {
        "chalice/__init__.py",
        "chalice/app.py",
        "chalice/app.pyi",
        *(f"chalice/__pycache__/{m}.{sys.implementation.cache_tag}.pyc" for m in ("__init__", "app")),
    }
)
# What a handler function's own zip holds (top-level names); everything else goes to the layer.
OWN_CODE = frozenset({"app.py", "chalicelib", "hookrelay"})
FUNCTION_BUDGET_BYTES = 256 * 1024
LAYER_ROOT = "python/"  # Lambda puts /opt/python on a Python function's path
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
HANDLER_RUNTIME = ProvisionerSettings.model_fields["handler_runtime"].default  # python3.11


def present_apps() -> list[str]:
    """The apps of :data:`APPS` that exist in this checkout (an app may arrive later than its name)."""
    return [app for app in APPS if (ROOT / app / "app.py").exists()]


def _fingerprint(app: str, stage: str) -> str:
    digest = hashlib.sha256(stage.encode())
    # what goes into the zip, and the tool that chooses which core modules do
    sources = [
        *(ROOT / app).rglob("*"),
        *(ROOT / "src" / "hookrelay").rglob("*"),
        ROOT / "tools" / "vendor_core.py",
        Path(__file__),  # how the package is split and compiled
    ]
    for path in sorted(sources):
        if path.is_file() and "vendor" not in path.parts and "__pycache__" not in path.parts:
            if ".chalice" in path.parts and "deployments" in path.parts:
                continue
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_app_package(app: str = "handler", stage: str = "dev") -> Path:
    """Return the directory holding ``<app>``'s deployment.zip and sam.json, packaging only on change.

    Safe to call from parallel test workers: one lock per app serialises vendoring and packaging.
    """
    BUILD.mkdir(parents=True, exist_ok=True)
    out = BUILD / f"{app}-{stage}-{_fingerprint(app, stage)}"
    with (BUILD / f".{app}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / "deployment.zip").exists() and (out / "sam.json").exists():
            return out
        _run(app, [sys.executable, str(ROOT / "tools" / "vendor_core.py"), app], cwd=ROOT)
        if out.exists():
            shutil.rmtree(out)
        chalice = Path(sys.executable).parent / "chalice"
        merge = ["--merge-template", str(MERGE_TEMPLATE)] if (ROOT / app / MERGE_TEMPLATE).exists() else []
        env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
        _run(app, [str(chalice), "package", "--stage", stage, *merge, str(out)], cwd=ROOT / app, env=env)
        for older in BUILD.glob(f"{app}-{stage}-*"):  # builds of earlier sources
            if older != out:
                shutil.rmtree(older, ignore_errors=True)
    return out


def build_app_zip(app: str = "handler", stage: str = "dev") -> Path:
    """Return the path of ``<app>``'s deployment.zip, packaging it only when its sources changed."""
    return build_app_package(app, stage) / "deployment.zip"


@dataclass(frozen=True)
class HandlerBuild:
    """The handler's two artifacts: its own code (each function's package) and the shared layer."""

    code: Path
    layer: Path


def build_handler_artifact(stage: str = "dev") -> HandlerBuild:
    """The handler's ``function.zip`` and ``layer.zip``, split from its ``chalice package`` zip."""
    out = build_app_package("handler", stage)
    build = HandlerBuild(code=out / "function.zip", layer=out / "layer.zip")
    with (BUILD / ".handler.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (build.code.exists() and build.layer.exists()):
            split_package(out / "deployment.zip", build)
    return build


def split_package(package: Path, build: HandlerBuild) -> None:
    """Write the package's own code to ``build.code`` and the rest, under ``python/``, to ``build.layer``."""
    with zipfile.ZipFile(package) as source:
        entries = [i for i in source.infolist() if not i.is_dir()]
        own = [i for i in entries if i.filename.split("/", 1)[0] in OWN_CODE]
        rest = [i for i in entries if i.filename.split("/", 1)[0] not in OWN_CODE]
        _write_reproducibly(source, own, "", build.code)
        _write_reproducibly(source, rest, LAYER_ROOT, build.layer)


def _write_reproducibly(source: zipfile.ZipFile, entries: list[zipfile.ZipInfo], root: str, to: Path) -> None:
    files = {root + e.filename: source.read(e) for e in sorted(entries, key=lambda e: e.filename)}
    # hookrelay's own bytecode without docstrings and asserts (as ``python -OO`` compiles it): they are a
    # third of the function zip's bytes, which its 256 KB budget counts, and nothing reads them at run time
    # (the sources, shipped beside, keep them for tracebacks and readers). Third-party code keeps its own.
    optimize = 2 if not root else -1
    files.update(_bytecode({n: d for n, d in files.items() if n.endswith(".py") and "/" in n}, optimize))
    partial = to.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as target:
        for name in sorted(files):
            _add(target, name, files[name])
    partial.replace(to)


# Run in a fresh interpreter: marshal writes an object once and refers back to it when the object's
# reference count says it is shared, so bytecode compiled inside a long-lived process varies with what
# that process did before; a fresh one with a fixed hash seed compiles the same sources to the same bytes.
_COMPILE = """
import pathlib, py_compile, sys
root, optimize = pathlib.Path(sys.argv[1]), int(sys.argv[2])
for line in sys.stdin.read().splitlines():
    shown = ('/opt/' if line.startswith('python/') else '/var/task/') + line
    try:
        py_compile.compile(str(root / 'src' / line), str(root / 'pyc' / line), dfile=shown, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH, optimize=optimize)
    except py_compile.PyCompileError:
        pass  # a file the runtime never imports as code (a template, a test fixture)
"""


def _bytecode(sources: dict[str, bytes], optimize: int = -1) -> dict[str, bytes]:
    """Each module's ``__pycache__`` entry: Lambda's /var/task and /opt are read-only, so without them
    every cold start compiles every module it imports (~0.7 s of CPU measured, bench_cold_start).
    Hash-based and unchecked (the zip's timestamps are fixed), for the runtime's Python only: under
    another version none (bytecode another version cannot use would only add bytes)."""
    if f"python{sys.version_info.major}.{sys.version_info.minor}" != HANDLER_RUNTIME or not sources:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in sources.items():
            (Path(tmp) / "src" / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / "src" / name).write_bytes(data)
            (Path(tmp) / "pyc" / name).parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        subprocess.run(
            [sys.executable, "-I", "-c", _COMPILE, tmp, str(optimize)], input="\n".join(sorted(sources)),
            text=True, env=env, check=True,
        )  # fmt: skip
        compiled = {}
        for name in sources:
            pyc = Path(tmp) / "pyc" / name
            if pyc.exists():
                folder, _, module = name.rpartition("/")
                compiled[f"{folder}/__pycache__/{module[:-3]}.{sys.implementation.cache_tag}.pyc"] = (
                    pyc.read_bytes()
                )
    return compiled


def _add(target: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.external_attr = 0o100644 << 16  # a regular file, readable by the runtime's user
    info.compress_type = zipfile.ZIP_DEFLATED
    target.writestr(info, data)


def function_zip_problems(code: Path) -> list[str]:
    """What is wrong with a handler function zip: anything but hookrelay's code, or over its budget."""
    tops = {n.split("/", 1)[0] for n in zipfile.ZipFile(code).namelist()}
    problems = [f"{top} is not hookrelay's code (it belongs in the layer)" for top in sorted(tops - OWN_CODE)]
    size = code.stat().st_size
    if size > FUNCTION_BUDGET_BYTES:
        problems.append(f"{size / 1024:.0f} KiB is over the {FUNCTION_BUDGET_BYTES / 1024:.0f} KiB budget")
    return problems


def zip_problems(package: Path, root: str = "") -> list[str]:
    """What is wrong with a deployment.zip (or a layer, its files under ``root``): over budget, or
    bundling what Lambda or nobody needs."""
    names = [n.removeprefix(root) for n in zipfile.ZipFile(package).namelist()]
    problems = [f"{top}/ is bundled" for top in sorted({n.split("/", 1)[0] for n in names} & NOT_BUNDLED)]
    cli = sorted(n for n in names if n.startswith("chalice/") and n not in CHALICE_RUNTIME)
    if cli:
        problems.append(f"the chalice CLI is bundled ({len(cli)} files, e.g. {cli[0]})")
    size = package.stat().st_size
    if size > ZIP_BUDGET_BYTES:
        problems.append(f"{size / 1024:.0f} KiB is over the {ZIP_BUDGET_BYTES / 1024:.0f} KiB budget")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="chalice package each app into build/<app>/ (offline)")
    parser.add_argument("--stage", required=True)
    parser.add_argument("apps", nargs="*", help="default: every app present")
    args = parser.parse_args(argv)
    failed = False
    for app in args.apps or present_apps():
        built = build_app_package(app, args.stage)
        target = ROOT / "build" / app
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(built, target)
        package = target / "deployment.zip"
        problems = zip_problems(package)
        failed = failed or bool(problems)
        _report(app, package, problems)
        if app == "handler":
            build = build_handler_artifact(args.stage)
            for part, path in (("function", build.code), ("layer", build.layer)):
                shutil.copy2(path, target / path.name)
                own = part == "function"
                problems = function_zip_problems(path) if own else zip_problems(path, LAYER_ROOT)
                failed = failed or bool(problems)
                _report(f"  {part}", target / path.name, problems)
    return 1 if failed else 0


def _report(what: str, package: Path, problems: list[str]) -> None:
    verdict = "; ".join(problems) if problems else "ok"
    print(f"{what:<16} {package.stat().st_size / 1024:>8.1f} KiB  {package.relative_to(ROOT)}  {verdict}")


class BuildFailed(Exception):
    """Packaging an app failed; the message carries the tool's own output."""


def _run(app: str, command: list[str], **kwargs: Any) -> None:
    """Run a build step; its output is shown only when it fails, and then as the error itself."""
    result = subprocess.run(command, check=False, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-3000:]
        raise BuildFailed(f"building {app} failed: {' '.join(command[:3])} ...\n{output}")


if __name__ == "__main__":
    sys.exit(main())
