"""The message contract and the handler's environment contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from hookrelay.delivery.attempt import Verdict, classify_status
from hookrelay.models import DeliveryState, ErrorKind, WebhookMessage
from hookrelay.retry import RetryPolicy
from hookrelay.settings import HandlerSettings


def message(**overrides: object) -> WebhookMessage:
    fields: dict[str, object] = {"partner_id": "acme", "topic": "transfer.created", "payload": {"amount": 5}}
    fields.update(overrides)
    return WebhookMessage.model_validate(fields)


def test_a_new_message_gets_an_id_a_creation_time_and_a_fresh_state() -> None:
    m = message()
    assert m.id.startswith("msg_")
    assert m.created_at.tzinfo is not None
    assert m.delivery == DeliveryState(attempt=0)
    assert message().id != m.id


def test_the_sqs_body_round_trips_with_its_delivery_state() -> None:
    m = message(delivery={"attempt": 2, "first_attempt_at": "2026-01-01T00:00:00Z"})
    again = WebhookMessage.model_validate_json(m.to_sqs_body())
    assert again == m
    assert again.delivery.attempt == 2


def test_the_http_body_is_the_standard_envelope_and_stable_across_attempts() -> None:
    m = message(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    retried = m.with_delivery(DeliveryState(attempt=3))
    assert json.loads(m.http_body()) == {
        "type": "transfer.created",
        "timestamp": "2026-01-01T00:00:00Z",
        "data": {"amount": 5},
    }
    assert retried.http_body() == m.http_body()


@pytest.mark.parametrize(
    "bad",
    [
        {"partner_id": "Not Valid"},
        {"topic": "has spaces"},
        {"payload": [1, 2]},
        {"id": "x" * 200},
        {"delivery": {"attempt": -1}},
        {"unexpected": 1},
    ],
)
def test_invalid_messages_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        message(**bad)


@pytest.mark.parametrize(
    ("status", "verdict", "kind"),
    [
        (200, Verdict.SUCCESS, None),
        (204, Verdict.SUCCESS, None),
        (301, Verdict.RETRY, ErrorKind.REDIRECT),
        (302, Verdict.RETRY, ErrorKind.REDIRECT),
        (400, Verdict.RETRY, ErrorKind.HTTP_STATUS),
        (404, Verdict.RETRY, ErrorKind.HTTP_STATUS),
        (410, Verdict.GONE, ErrorKind.HTTP_STATUS),
        (429, Verdict.RETRY, ErrorKind.HTTP_STATUS),
        (500, Verdict.RETRY, ErrorKind.HTTP_STATUS),
        (503, Verdict.RETRY, ErrorKind.HTTP_STATUS),
    ],
)
def test_status_classification(status: int, verdict: Verdict, kind: ErrorKind | None) -> None:
    assert classify_status(status) == (verdict, kind)


def test_handler_settings_round_trip_through_a_lambda_environment() -> None:
    settings = HandlerSettings(
        partner_id="acme",
        partner_url="https://acme.example/hooks",
        queue_url="http://sqs/q",
        dead_letter_queue_url="http://sqs/dlq",
        secret_id="hookrelay/dev/acme/signing",
        post_concurrency=7,
        retry_policy=RetryPolicy(schedule_seconds=(1, 2), jitter=0),
        legacy_signature=True,
        allowed_networks=("loopback",),
    )
    env = settings.to_environment()
    assert all(isinstance(v, str) for v in env.values())
    assert env["HOOKRELAY_POST_CONCURRENCY"] == "7"
    assert HandlerSettings.from_environment({**env, "PATH": "/bin"}) == settings


def test_handler_settings_refuse_out_of_range_values() -> None:
    with pytest.raises(ValidationError):
        HandlerSettings.from_environment(
            {
                "HOOKRELAY_PARTNER_ID": "acme",
                "HOOKRELAY_PARTNER_URL": "https://a.example",
                "HOOKRELAY_QUEUE_URL": "q",
                "HOOKRELAY_DEAD_LETTER_QUEUE_URL": "d",
                "HOOKRELAY_SECRET_ID": "s",
                "HOOKRELAY_POST_CONCURRENCY": "500",
            }
        )


def test_a_malformed_signing_secret_leaves_no_trace_of_itself_on_the_error() -> None:
    import traceback

    from hookrelay.errors import DependencyUnavailable
    from hookrelay.signing.keys import read_signing_keys

    secret = "whsec_" + "A" * 43 + "="

    class Client:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            return {"SecretString": '{"keys": [{"secret": "' + secret + '"}],}'}

    with pytest.raises(DependencyUnavailable) as caught:
        read_signing_keys("acme/signing", Client())
    printed = "".join(traceback.format_exception(caught.value))
    assert "not in the expected form" in printed
    assert secret[-12:] not in printed
