"""The handler Chalice app: its Lambda entry point wires the environment to the core."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from hookrelay.settings import handler_settings
from hookrelay.signing import standard as signing
from hookrelay_local.partner_server import PartnerServer
from tests.support.handler_stack import build_partner_stack
from tests.support.sqs import drain, sqs_event

HANDLER_DIR = Path(__file__).resolve().parents[2] / "handler"


@pytest.fixture
def handler_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.syspath_prepend(str(HANDLER_DIR))
    sys.modules.pop("app", None)
    module = importlib.import_module("app")
    module.deps.cache_clear()
    handler_settings.cache_clear()
    yield module
    module.deps.cache_clear()
    handler_settings.cache_clear()
    sys.modules.pop("app", None)


def test_deliver_reads_its_partner_from_the_environment_and_reports_partial_failures(
    handler_app: Any,
    sqs: Any,
    secretsmanager: Any,
    partner_server: Callable[..., PartnerServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a partner's Lambda environment, as the provisioner writes it
    server = partner_server()
    stack = build_partner_stack(sqs, secretsmanager, server.url)
    for key, value in stack.settings.to_environment().items():
        monkeypatch.setenv(key, value)
    event = sqs_event([stack.message(id="msg_ok").to_sqs_body(), "poison"])
    # WHEN Lambda invokes app.deliver
    with Client(handler_app.app) as client:
        result = client.lambda_.invoke("deliver", event)
    # THEN the good record is delivered and the poison is parked: no batch item fails
    assert result.payload == {"batchItemFailures": []}
    [request] = server.requests_snapshot()
    assert signing.verify(stack.secret, request.headers, request.body).webhook_id == "msg_ok"
    [parked] = drain(sqs, stack.dlq_url)
    assert parked["Body"] == "poison"
