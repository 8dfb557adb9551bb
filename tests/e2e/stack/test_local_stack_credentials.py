"""`make run`'s stack never uses the developer's real AWS credentials (its own module: a second stack in
the same process as another module's running stack would share moto's global state and app modules)."""

from __future__ import annotations

import os

import pytest

from hookrelay_local.stack import LocalStack, StackOptions

pytestmark = pytest.mark.e2e


def test_the_stack_never_uses_the_developers_real_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a developer's shell with real-looking keys, a session token and a profile
    real = {
        "AWS_ACCESS_KEY_ID": "AKIAREALREALREAL",
        "AWS_SECRET_ACCESS_KEY": "real-secret",
        "AWS_SESSION_TOKEN": "real-token",
        "AWS_PROFILE": "prod-admin",
    }
    for name, value in real.items():
        monkeypatch.setenv(name, value)
    ports = {"aws_port": 0, "api_port": 0, "receiver_port": 0}
    options = StackOptions(**ports, stage="creds")
    # WHEN the stack runs
    with LocalStack(options) as running:
        during = {name: os.environ.get(name) for name in real}
        stored = running.client("lambda").list_functions()["Functions"]
    # THEN while it ran only dummy keys were set, no token or profile, and no function stored a real key
    assert during == {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
    }
    assert stored, "the stack bootstraps its recorder and inbox functions"
    assert not [f["FunctionName"] for f in stored if any(v in str(f) for v in real.values())]
    # AND the developer's environment is back as it was
    assert {name: os.environ.get(name) for name in real} == real
