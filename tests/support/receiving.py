"""Helpers for receiver tests: signed webhooks as hookrelay's handler sends them, and the app itself."""

from __future__ import annotations

import importlib.util
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from hookrelay.delivery.attempt import request_headers
from hookrelay.models import WebhookMessage
from hookrelay.receiving.receive import receiver_settings
from hookrelay_local.lambda_runtime.events import sqs_event

RECEIVER_DIR = Path(__file__).resolve().parents[2] / "receiver"


def webhook(
    secrets: list[str],
    *,
    timestamp: int | None = None,
    legacy: bool = False,
    message: WebhookMessage | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery attempt, signed by the handler's own code path."""
    message = message or WebhookMessage(partner_id="acme", topic="customer.created", payload={"n": 1})
    body = message.http_body()
    ts = int(time.time()) if timestamp is None else timestamp
    return body, request_headers(message, secrets, body, attempt=1, timestamp=ts, legacy=legacy)


def load_receiver_app() -> ModuleType:
    """A fresh import of receiver/app.py, reading settings from the current environment."""
    receiver_settings.cache_clear()
    spec = importlib.util.spec_from_file_location(f"receiver_app_{uuid.uuid4().hex}", RECEIVER_DIR / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    receiver_settings.cache_clear()
    return module


def lambda_records(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A Lambda SQS event made of messages received with boto3 (built as the local Lambda runtime does)."""
    return sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:hookrelay-receiver-inbox", "us-east-1")
