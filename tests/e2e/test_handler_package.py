"""The handler's build: a function zip of hookrelay's code only (under 256 KB) and a layer zip of its
dependencies, which together import and deliver with only what Lambda's runtime provides."""

from __future__ import annotations

import json
import marshal
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from hookrelay.signing import standard as signing
from hookrelay_local.artifacts import (
    HANDLER_RUNTIME,
    LAYER_ROOT,
    HandlerBuild,
    build_app_zip,
    build_handler_artifact,
    function_zip_problems,
    split_package,
    zip_problems,
)
from hookrelay_local.partner_server import PartnerServer
from tests.support.handler_stack import build_partner_stack
from tests.support.lambda_sandbox import invoke_packaged
from tests.support.sqs import drain, sqs_event

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def handler_zip() -> Path:
    return build_app_zip("handler", "dev")


@pytest.fixture(scope="module")
def handler_build() -> HandlerBuild:
    return build_handler_artifact("dev")


def test_the_package_holds_only_what_the_handler_imports(handler_zip: Path) -> None:
    names = zipfile.ZipFile(handler_zip).namelist()
    top = {n.split("/", 1)[0] for n in names}
    assert {"app.py", "hookrelay", "pydantic", "aws_xray_sdk"} <= top
    # AND none of what the handler no longer imports: its settings are a plain model, it posts with
    # the runtime's urllib3, and it writes its own log lines and EMF
    assert top & {"pydantic_settings", "requests", "aws_lambda_powertools"} == set()
    # no boto3/botocore, dev tools or chalice CLI, and under the budget (tests/e2e/test_app_templates.py)
    assert zip_problems(handler_zip) == []
    assert not [n for n in names if "__pycache__" in n]


def test_the_function_zip_is_hookrelays_code_only_and_under_256_kb(handler_build: HandlerBuild) -> None:
    # GIVEN the zip each partner function carries
    names = zipfile.ZipFile(handler_build.code).namelist()
    # THEN it is app.py and the core modules it imports: no third-party package, not even chalice
    assert {n.split("/", 1)[0] for n in names} == {"app.py", "hookrelay"}
    assert {"hookrelay/delivery/batch.py", "hookrelay/settings.py"} <= set(names)
    assert handler_build.code.stat().st_size < 256 * 1024
    assert function_zip_problems(handler_build.code) == []


def test_the_layer_holds_the_dependencies_under_python(handler_build: HandlerBuild) -> None:
    # GIVEN the layer zip WHEN its files are listed
    names = zipfile.ZipFile(handler_build.layer).namelist()
    # THEN every one is under python/ (Lambda puts /opt/python on the path), hookrelay's code in none
    assert all(n.startswith(LAYER_ROOT) for n in names)
    top = {n.removeprefix(LAYER_ROOT).split("/", 1)[0] for n in names}
    assert {"pydantic", "pydantic_core", "aws_xray_sdk", "chalice"} <= top
    assert top & {"app.py", "hookrelay"} == set()
    # AND no boto3/botocore, dev tools or chalice CLI
    assert zip_problems(handler_build.layer, LAYER_ROOT) == []


def test_the_split_is_reproducible_byte_for_byte(handler_build: HandlerBuild, tmp_path: Path) -> None:
    # GIVEN the handler's package split again, elsewhere
    again = HandlerBuild(code=tmp_path / "function.zip", layer=tmp_path / "layer.zip")
    split_package(handler_build.code.parent / "deployment.zip", again)
    # THEN both zips are the same bytes: their content-addressed keys (and the layer version) are reused
    assert again.code.read_bytes() == handler_build.code.read_bytes()
    assert again.layer.read_bytes() == handler_build.layer.read_bytes()


def test_the_function_zip_alone_cannot_import_the_handler(
    handler_build: HandlerBuild, tmp_path: Path
) -> None:
    # WHEN the function zip runs without its layer THEN its dependencies are missing: they are the layer's
    result = invoke_packaged(handler_build.code, tmp_path, "deliver", {"Records": []}, {})
    assert result.returncode == 1
    assert "ModuleNotFoundError: No module named 'chalice'" in result.stderr


def test_the_packaged_handler_delivers_with_its_layer_and_only_the_lambda_runtime(
    handler_build: HandlerBuild,
    moto_server: str,
    tmp_path: Path,
    partner_server: Callable[..., PartnerServer],
) -> None:
    # GIVEN a partner on the embedded AWS
    server = partner_server()
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    secrets = boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")
    stack = build_partner_stack(sqs, secrets, server.url)
    event = sqs_event([stack.message(id="msg_zip").to_sqs_body(), "poison"])
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "hookrelay-dev-acme",
        "POWERTOOLS_METRICS_DISABLED": "true",
        **stack.settings.to_environment(),
    }
    # WHEN Lambda's bootstrap would call app.deliver: the function zip, its layer in /opt, the runtime
    result = invoke_packaged(handler_build.code, tmp_path, "deliver", event, env, layer=handler_build.layer)
    # THEN it answers a partial batch response, the partner got a verifiable webhook, the poison is parked
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"batchItemFailures": []}
    [request] = server.requests_snapshot()
    assert signing.verify(stack.secret, request.headers, request.body).webhook_id == "msg_zip"
    assert [m["Body"] for m in drain(sqs, stack.dlq_url)] == ["poison"]
    assert stack.secret not in result.stdout + result.stderr


def bytecode_tag() -> str:
    """This Python's pyc tag; the test is skipped unless it is the handler runtime's (the only
    version the build compiles bytecode for)."""
    if f"python{sys.version_info.major}.{sys.version_info.minor}" != HANDLER_RUNTIME:
        pytest.skip("bytecode is only compiled by the handler runtime's own Python version")
    return sys.implementation.cache_tag


def test_both_zips_ship_compiled_bytecode_the_runtime_uses_without_checking(
    handler_build: HandlerBuild,
) -> None:
    # GIVEN the layer zip and the function zip (Lambda's /opt and /var/task are read-only: without
    # bytecode every cold start compiles every module it imports)
    tag = bytecode_tag()
    for zipped, package in (
        (handler_build.layer, f"{LAYER_ROOT}pydantic/"),
        (handler_build.code, "hookrelay/"),
    ):
        names = set(zipfile.ZipFile(zipped).namelist())
        modules = [n for n in names if n.endswith(".py") and n.startswith(package)]
        # THEN each module has its cpython-3.x pyc beside it, hash-based and unchecked (flags = 0b01)
        assert modules
        for module in modules:
            folder, _, name = module.rpartition("/")
            pyc = f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc"
            assert pyc in names, pyc
            assert int.from_bytes(zipfile.ZipFile(zipped).read(pyc)[4:8], "little") == 0b01


def test_hookrelays_own_bytecode_carries_no_docstrings_and_the_layers_keeps_them(
    handler_build: HandlerBuild,
) -> None:
    # GIVEN a module of each zip whose source opens with a docstring
    tag = bytecode_tag()

    def module_doc(zipped: Path, pyc: str) -> object:
        code = marshal.loads(zipfile.ZipFile(zipped).read(pyc)[16:])  # noqa: S302 (our own build)
        # a module's docstring is its first constant, stored as __doc__ (the code is read, never run)
        return code.co_consts[0] if "__doc__" in code.co_names else None

    # WHEN their bytecode is read
    own = module_doc(handler_build.code, f"hookrelay/delivery/__pycache__/batch.{tag}.pyc")
    layer = module_doc(handler_build.layer, f"{LAYER_ROOT}pydantic/__pycache__/main.{tag}.pyc")
    # THEN hookrelay's is compiled as `python -OO` would (no docstring: a third of the function zip's
    # bytes), while the third-party code in the layer keeps its own
    assert own is None
    assert isinstance(layer, str)
    assert layer.strip()
