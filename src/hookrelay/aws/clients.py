"""Lazy, cached, injectable boto3 clients.

The endpoint comes from the standard ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``)
variables, which botocore reads itself: the same code talks to moto, LocalStack or AWS.
Functions that call AWS take an optional client argument; when it is omitted they use
:func:`client`, which creates one on first use and caches it.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

_lock = threading.Lock()
_clients: dict[tuple[str, str | None], Any] = {}

# Adaptive retries absorb throttling; short connect timeout so a dead endpoint fails fast.
CLIENT_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=50,
)


def client(service: str, region: str | None = None) -> Any:
    """Return the process-wide client for ``service``, creating it on first use."""
    key = (service, region)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            session = boto3.session.Session()
            _clients[key] = session.client(service, region_name=region, config=CLIENT_CONFIG)
        return _clients[key]


def reset_clients() -> None:
    """Forget cached clients (tests and the local stack call this after changing endpoints)."""
    with _lock:
        _clients.clear()


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore exception, or its class name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
