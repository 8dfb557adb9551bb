"""Fixtures shared by every test: AWS state on moto, real partner HTTP servers on 127.0.0.1."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from hookrelay.aws import clients as aws
from hookrelay.aws import wire
from hookrelay.aws.sqs import forget_queue_urls
from hookrelay_local.embedded_aws import endpoint_url, keep_moto_from_consuming, start_moto_server
from hookrelay_local.partner_server import Behaviour, PartnerServer

REGION = "us-east-1"

# moto must store event source mappings, never consume queue messages for them (see embedded_aws).
keep_moto_from_consuming()


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real AWS account: fake credentials, a fixed region, no endpoint override."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_XRAY_SDK_ENABLED", "false")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    aws.reset_clients()


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process moto for every AWS service; cached clients and queue URLs are dropped before and after."""
    # mock_aws intercepts botocore only, not the handler's lean AWS caller (urllib3): under it, the core's
    # clients must be botocore's. The e2e tests (moto's server over HTTP) and the benches use the lean one.
    monkeypatch.setenv(wire.MODE_VARIABLE, "botocore")
    with mock_aws():
        aws.reset_clients()
        forget_queue_urls()
        yield
    aws.reset_clients()
    forget_queue_urls()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's server on loopback, for a module whose code speaks HTTP to AWS itself (aws.wire), which
    the in-process ``mock_aws`` does not intercept."""
    server = start_moto_server()
    yield endpoint_url(server)
    server.stop()


@pytest.fixture
def sqs(moto_aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def secretsmanager(moto_aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def moto_server() -> Iterator[str]:
    """moto's server on loopback for one test (its state is this process's: reset after the test, so
    that no queue, message or secret is left behind for a later one)."""
    server = start_moto_server(0)
    yield endpoint_url(server)
    reset = urllib.request.Request(endpoint_url(server) + "/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 - loopback
    server.stop()


@pytest.fixture
def xray_daemon() -> Iterator[socket.socket]:
    """The X-Ray daemon's UDP port, on loopback (read it with tests.support.xray.received_segments)."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listening.bind(("127.0.0.1", 0))
    listening.settimeout(0.5)
    yield listening
    listening.close()


@pytest.fixture
def partner_server() -> Iterator[Callable[..., PartnerServer]]:
    """Start real HTTP servers on loopback: ``server = partner_server(behaviour)``."""
    started: list[PartnerServer] = []

    def start(behaviour: Behaviour | None = None) -> PartnerServer:
        server = PartnerServer(behaviour).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
