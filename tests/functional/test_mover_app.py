"""The sqs-mv Chalice app: the ``move`` Lambda, invoked through chalice.test.Client on moto."""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.local import LambdaContext
from chalice.test import Client

from tests.support.mover import fill, visible

APP_DIR = Path(__file__).resolve().parents[2] / "sqs-mv"


@pytest.fixture
def lambda_client(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    # chalice.test gives every invocation a context of 3 s (its default), so the mover stopped at its
    # deadline (half of that) on a loaded machine; the deployed function has 900 s (.chalice/config.json)
    monkeypatch.setattr(
        "chalice.test.LambdaContext", functools.partial(LambdaContext, max_runtime_ms=900_000)
    )
    spec = importlib.util.spec_from_file_location("sqs_mv_app", APP_DIR / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with Client(module.app) as client:
        yield client


@pytest.fixture
def queues(sqs: Any) -> tuple[str, str]:
    return sqs.create_queue(QueueName="source")["QueueUrl"], sqs.create_queue(QueueName="dest")["QueueUrl"]


def test_moves_up_to_the_limit(lambda_client: Client, sqs: Any, queues: tuple[str, str]) -> None:
    # GIVEN 15 messages WHEN the Lambda is asked to move 10
    fill(sqs, queues[0], 15)
    result = lambda_client.lambda_.invoke("move", {"source": "source", "dest": "dest", "limit": 10}).payload
    # THEN it moved 10 and stopped at the limit
    assert result["ok"] is True
    assert (result["report"]["moved"], result["report"]["stop_reason"]) == (10, "limit")
    assert (visible(sqs, queues[0]), visible(sqs, queues[1])) == (5, 10)


@pytest.mark.parametrize(
    ("event", "code", "message"),
    [
        ({"source": "source"}, "invalid_input", "request: give exactly one of dest or to_origin"),
        ({"source": "source", "dest": "dest", "limit": "many"}, "invalid_input", "limit: Input should be"),
        ({"source": "source", "dest": "dest", "speed": 3}, "invalid_input", "speed: Extra inputs are not"),
        ({"source": "source", "dest": "gone"}, "not_found", "queue gone does not exist"),
        ({"source": "source", "dest": "source"}, "invalid_input", "source and dest are the same queue"),
    ],
)
def test_bad_requests_get_a_clear_error(
    lambda_client: Client, queues: tuple[str, str], event: dict[str, Any], code: str, message: str
) -> None:
    result = lambda_client.lambda_.invoke("move", event).payload
    assert result["ok"] is False
    assert result["error"]["code"] == code
    assert result["error"]["message"].startswith(message)


def test_the_lambda_imports_neither_rich_nor_requests() -> None:
    # GIVEN the app imported in a fresh interpreter THEN the CLI-only and delivery-only libraries stay out
    code = (
        "import sys; sys.path.insert(0, 'sqs-mv'); import app; "
        "print(sorted({'rich', 'requests'} & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=APP_DIR.parent, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
