"""The receiver's AWS calls fit inside API Gateway's 29 s and its own 30 s dedup lease, even when every
call's first try times out: read from the clients the receiver really builds (no injected client)."""

from __future__ import annotations

from typing import Any

import pytest

from hookrelay.receiving.receive import ReceiverSettings, build_receiver
from hookrelay.receiving.secrets import ManagedSecrets

API_GATEWAY_SECONDS = 29.0
MAX_BACKOFF_SECONDS = 1.0  # botocore's standard mode: rand(0, 1) * 1 s before the first retry


def worst_case_seconds(client: Any) -> float:
    """Every try connects slowly and reads until its timeout, then the longest backoff between tries."""
    config = client.meta.config
    tries = config.retries["total_max_attempts"]
    return tries * (config.connect_timeout + config.read_timeout) + (tries - 1) * MAX_BACKOFF_SECONDS


@pytest.fixture
def receiver_clients(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = ReceiverSettings(receiver_secret_id="hookrelay-receiver/signing")
    receiver = build_receiver(settings)
    assert isinstance(receiver.secrets, ManagedSecrets)
    return {
        "secretsmanager": receiver.secrets.client,
        "dynamodb": receiver.dedup.client,
        "sqs": receiver.queue_client,
    }


def test_each_receiver_client_gives_up_within_seven_seconds(receiver_clients: dict[str, Any]) -> None:
    assert {name: worst_case_seconds(c) for name, c in receiver_clients.items()} == {
        "secretsmanager": 7.0,
        "dynamodb": 7.0,
        "sqs": 7.0,
    }


def test_a_request_reading_its_secret_ends_before_api_gateway_gives_up(
    receiver_clients: dict[str, Any],
) -> None:
    # secret (on a cold cache), claim, send, complete (or release): one after the other
    calls = ["secretsmanager", "dynamodb", "sqs", "dynamodb"]
    assert sum(worst_case_seconds(receiver_clients[c]) for c in calls) < API_GATEWAY_SECONDS


def test_claim_to_complete_ends_before_the_dedup_lease(receiver_clients: dict[str, Any]) -> None:
    # the lease starts with the claim; the send and the complete follow within it
    lease = ReceiverSettings(receiver_secret_id="x").receiver_lease_seconds
    assert (
        worst_case_seconds(receiver_clients["sqs"]) + worst_case_seconds(receiver_clients["dynamodb"]) < lease
    )
