"""Fixtures for the local Lambda runtime: one moto server per test process, reset before each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from hookrelay_local.embedded_aws import endpoint_url, start_moto_server
from hookrelay_local.lambda_runtime.poller import PollerOptions
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime
from tests.support.lambda_runtime import LocalAws


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = start_moto_server()
    yield endpoint_url(server)
    server.stop()


@pytest.fixture
def local_aws(moto_endpoint: str) -> LocalAws:
    """A clean embedded AWS: moto's state lives in the process, so reset it for every test."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=5)
    return LocalAws(moto_endpoint)


@pytest.fixture
def start_runtime(local_aws: LocalAws) -> Iterator[Callable[..., LocalLambdaRuntime]]:
    """``start_runtime(**kwargs)``: a started runtime on the test's moto (quick discovery), stopped after."""
    started: list[LocalLambdaRuntime] = []

    def start(**kwargs: Any) -> LocalLambdaRuntime:
        settings = {"discovery_interval_s": 0.2, "options": PollerOptions(wait_seconds=1), **kwargs}
        runtime = LocalLambdaRuntime(local_aws.endpoint_url, **settings).start()
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.stop(timeout_s=5)
