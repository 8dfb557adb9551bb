"""The receive use case without AWS: the order of checks, and nothing lost when a step fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from hookrelay.aws import clients as aws
from hookrelay.errors import DependencyUnavailable, InvalidInput
from hookrelay.receiving.dedup import Claim, ClaimState
from hookrelay.receiving.receive import IncomingRequest, Receiver, ReceiverSettings, build_receiver, receive
from hookrelay.receiving.secrets import ManagedSecrets, StaticSecrets
from hookrelay.signing.standard import generate_secret, sign

SECRET = generate_secret()
BODY = b'{"type":"t","timestamp":"2026-11-23T18:00:00Z","data":{}}'


@dataclass
class FakeDedup:
    """Records what the use case asked of the dedup table; ``complete`` may be made to fail."""

    complete_ok: bool = True
    calls: list[str] = field(default_factory=list)

    def claim(self, webhook_id: str, now: float) -> Claim:
        self.calls.append("claim")
        return Claim(webhook_id, ClaimState.CLAIMED, "token")

    def complete(self, claim: Claim, now: float, message_id: str) -> bool:
        self.calls.append("complete")
        return self.complete_ok

    def release(self, claim: Claim) -> bool:
        self.calls.append("release")
        return True


class FakeSqs:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, str]:
        if self.fail:
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
        self.sent.append(kwargs)
        return {"MessageId": f"m{len(self.sent)}"}


def make(dedup: FakeDedup, sqs: FakeSqs, **settings: Any) -> Receiver:
    return Receiver(
        settings=ReceiverSettings(receiver_secrets=SECRET, **settings),
        secrets=StaticSecrets(SECRET),
        dedup=dedup,  # type: ignore[arg-type]
        queue_url=lambda: "https://sqs.us-east-1.amazonaws.com/1/inbox",
        sqs=sqs,
    )


def request(body: bytes = BODY, **extra: str) -> IncomingRequest:
    return IncomingRequest.from_parts({**sign(SECRET, "msg_1", body), **extra}, body)


def test_claim_then_send_then_complete() -> None:
    dedup, sqs = FakeDedup(), FakeSqs()
    accepted = receive(request(), make(dedup, sqs))
    assert (accepted.duplicate, accepted.message_id) == (False, "m1")
    assert dedup.calls == ["claim", "complete"]
    assert sqs.sent[0]["MessageBody"] == BODY.decode()


def test_a_failed_send_releases_the_claim_and_is_unavailable() -> None:
    dedup = FakeDedup()
    with pytest.raises(DependencyUnavailable, match="cannot send to inbox: EndpointConnectionError"):
        receive(request(), make(dedup, FakeSqs(fail=True)))
    assert dedup.calls == ["claim", "release"]


def test_a_queued_webhook_is_200_even_if_marking_it_done_fails() -> None:
    # It is on the queue: answering non-2xx would only make hookrelay send it again.
    accepted = receive(request(), make(FakeDedup(complete_ok=False), FakeSqs()))
    assert accepted.message_id == "m1"


def test_size_is_checked_before_the_signature() -> None:
    big = b"{" + b" " * 2000 + b"}"
    with pytest.raises(InvalidInput, match="body is over the 1024-byte limit") as caught:
        receive(request(big), make(FakeDedup(), FakeSqs(), receiver_max_body_bytes=1024))
    assert caught.value.status_code == 413


def test_a_content_length_that_is_not_a_number_is_400() -> None:
    with pytest.raises(InvalidInput, match="Content-Length is not a number"):
        receive(request(**{"Content-Length": "12abc"}), make(FakeDedup(), FakeSqs()))


def test_a_signed_json_array_is_not_a_webhook() -> None:
    dedup = FakeDedup()
    with pytest.raises(InvalidInput, match="body is not a JSON object"):
        receive(request(b"[1, 2]"), make(dedup, FakeSqs()))
    assert dedup.calls == []


def test_a_body_sqs_cannot_carry_is_400_not_503() -> None:
    # Valid JSON may hold U+FFFF raw inside a string; SQS refuses it, so retrying would never help.
    with pytest.raises(InvalidInput, match="characters a queue cannot carry"):
        receive(request('{"data": "\uffff"}'.encode()), make(FakeDedup(), FakeSqs()))


@pytest.mark.parametrize(
    "settings",
    [{}, {"receiver_secrets": SECRET, "receiver_secret_id": "acme/signing"}],
    ids=["neither", "both"],
)
def test_exactly_one_secret_source_is_required(settings: dict[str, Any]) -> None:
    with pytest.raises(DependencyUnavailable, match="set exactly one of"):
        build_receiver(ReceiverSettings(**settings))


def test_settings_never_print_the_secrets() -> None:
    assert SECRET not in repr(ReceiverSettings(receiver_secrets=SECRET))


def test_a_path_with_parameters_is_refused() -> None:
    # The route's view takes no arguments: a "{param}" path would fail every request.
    with pytest.raises(ValueError, match="receiver_path"):
        ReceiverSettings(receiver_path="/hooks/{partner}")


def test_the_receivers_clients_fail_fast_enough_for_api_gateway() -> None:
    # GIVEN a receiver built from settings alone (as receiver/app.py builds it on the first request)
    aws.reset_clients()
    receiver = build_receiver(
        ReceiverSettings(receiver_secret_id="acme/signing", receiver_queue_url="https://sqs.example/1/inbox")
    )
    # WHEN the clients it calls AWS with are inspected
    secrets = receiver.secrets
    assert isinstance(secrets, ManagedSecrets)
    configs = {
        "sqs": receiver.queue_client.meta.config,
        "dynamodb": receiver.dedup.client.meta.config,
        "secretsmanager": secrets.client.meta.config,
    }
    # THEN each has 1 s to connect, 2 s to read and 2 tries in all (not botocore's 60 s and 5 tries):
    # a call gives up within ~7 s; the sums against API Gateway's 29 s and the 30 s dedup lease are in
    # tests/unit/test_receiver_timeouts.py
    for service, config in configs.items():
        assert (config.connect_timeout, config.read_timeout) == (1, 2), service
        assert config.retries == {"total_max_attempts": 2, "mode": "standard"}, service
