"""The receiver app through chalice.test.Client, on moto: what a partner's endpoint answers, and why."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from chalice.test import Client

from hookrelay.receiving.dedup import create_dedup_table
from hookrelay.receiving.inbox import ReceivedWebhook
from hookrelay.signing.keys import SigningKey, SigningKeys
from hookrelay.signing.standard import generate_secret, sign
from tests.conftest import REGION
from tests.support.receiving import RECEIVER_DIR, lambda_records, load_receiver_app, webhook
from tests.support.sqs import drain

SECRET = generate_secret()
OLD_SECRET = generate_secret()
QUEUE = "hookrelay-receiver-inbox"
TABLE = "hookrelay-receiver-webhooks"

MakeApp = Callable[..., tuple[Client, ModuleType]]


@pytest.fixture
def state(sqs: Any) -> SimpleNamespace:
    """GIVEN the partner's inbox queue and dedup table exist."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_dedup_table(TABLE, dynamodb)
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    return SimpleNamespace(sqs=sqs, dynamodb=dynamodb, queue_url=queue_url)


@pytest.fixture
def make_app(monkeypatch: pytest.MonkeyPatch, state: SimpleNamespace) -> MakeApp:
    """Import receiver/app.py with HOOKRELAY_RECEIVER_* set (secrets default to SECRET)."""

    def make(**env: str) -> tuple[Client, ModuleType]:
        monkeypatch.setenv("HOOKRELAY_RECEIVER_SECRETS", SECRET)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        if "HOOKRELAY_RECEIVER_SECRET_ID" in env:
            monkeypatch.delenv("HOOKRELAY_RECEIVER_SECRETS")
        module = load_receiver_app()
        monkeypatch.setattr(module, "configure_logging", lambda *args, **kwargs: None)
        return Client(module.app, project_dir=str(RECEIVER_DIR)), module

    return make


@pytest.fixture
def client(make_app: MakeApp) -> Client:
    return make_app()[0]


def post(client: Client, body: bytes, headers: dict[str, str], path: str = "/") -> Any:
    return client.http.post(path, headers=headers, body=body)


def queued(state: SimpleNamespace) -> list[dict[str, Any]]:
    return drain(state.sqs, state.queue_url)


def test_valid_webhook_is_queued_then_answered_200(client: Client, state: SimpleNamespace) -> None:
    # GIVEN a webhook signed exactly as hookrelay's handler signs it (round trip through
    # hookrelay.delivery.attempt.request_headers, i.e. hookrelay.signing.standard.sign)
    body, headers = webhook([SECRET])
    # WHEN it is posted
    response = post(client, body, headers)
    # THEN 200, and the body (verbatim) with its id and type is on the inbox queue
    assert response.status_code == 200
    assert response.json_body == {"status": "queued", "webhook_id": headers["webhook-id"]}
    [message] = queued(state)
    assert message["Body"] == body.decode()
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "WebhookId": headers["webhook-id"],
        "WebhookTimestamp": headers["webhook-timestamp"],
        "WebhookType": "customer.created",
    }


def test_tampered_body_is_401(client: Client, state: SimpleNamespace) -> None:
    body, headers = webhook([SECRET])
    response = post(client, body.replace(b'"n":1', b'"n":2'), headers)
    assert response.status_code == 401
    assert response.json_body == {
        "error": "unauthorized",
        "message": "signature verification failed: no matching signature",
    }
    assert queued(state) == []


def test_wrong_secret_is_401_and_no_secret_is_logged(
    client: Client, state: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    other = generate_secret()
    body, headers = webhook([other])
    with caplog.at_level(logging.DEBUG):
        response = post(client, body, headers)
    assert response.status_code == 401
    assert response.json_body["error"] == "unauthorized"
    for secret in (SECRET, other):
        assert secret.removeprefix("whsec_") not in caplog.text
        assert secret.removeprefix("whsec_") not in response.body.decode()
    assert queued(state) == []


@pytest.mark.parametrize("signer", ["old", "new", "both"])
def test_rotated_secrets_accept_old_and_new(make_app: MakeApp, state: SimpleNamespace, signer: str) -> None:
    # GIVEN a receiver configured with the new and the old secret (rotation in progress)
    client, _ = make_app(HOOKRELAY_RECEIVER_SECRETS=f"{SECRET}, {OLD_SECRET}")
    secrets = {"old": [OLD_SECRET], "new": [SECRET], "both": [SECRET, OLD_SECRET]}[signer]
    body, headers = webhook(secrets)
    assert post(client, body, headers).status_code == 200
    assert len(queued(state)) == 1


# 310, not 301: the receiver reads the clock a moment after the test signs, and int() drops up to 1 s.
@pytest.mark.parametrize(("offset", "reason"), [(-310, "too old"), (310, "too far in the future")])
def test_timestamp_outside_tolerance_is_401(client: Client, offset: int, reason: str) -> None:
    body, headers = webhook([SECRET], timestamp=int(time.time()) + offset)
    response = post(client, body, headers)
    assert response.status_code == 401
    assert response.json_body["message"] == f"signature verification failed: webhook-timestamp is {reason}"


def test_tolerance_is_configurable(make_app: MakeApp) -> None:
    client, _ = make_app(HOOKRELAY_RECEIVER_TOLERANCE_SECONDS="600")
    body, headers = webhook([SECRET], timestamp=int(time.time()) - 400)
    assert post(client, body, headers).status_code == 200


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("v1", "malformed webhook-signature entry (want 'v1,<base64>')"),
        ("v1,not*base64!", "webhook-signature entry is not valid base64"),
        ("v2,c2lnbmF0dXJl", "no v1 signature in webhook-signature"),
    ],
    ids=["no-comma", "bad-base64", "unknown-version-only"],
)
def test_malformed_signature_entries_are_401(client: Client, signature: str, reason: str) -> None:
    body, headers = webhook([SECRET])
    response = post(client, body, {**headers, "webhook-signature": signature})
    assert response.status_code == 401
    assert response.json_body == {
        "error": "unauthorized",
        "message": f"signature verification failed: {reason}",
    }


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_400(client: Client, header: str) -> None:
    body, headers = webhook([SECRET])
    del headers[header]
    response = post(client, body, headers)
    assert response.status_code == 400
    assert response.json_body == {"error": "invalid_input", "message": f"missing header(s): {header}"}


def test_header_names_are_case_insensitive(client: Client) -> None:
    body, headers = webhook([SECRET])
    shouted = {name.upper(): value for name, value in headers.items()}
    assert post(client, body, shouted).status_code == 200


def test_empty_body_is_400(client: Client) -> None:
    _, headers = webhook([SECRET])
    response = post(client, b"", headers)
    assert response.status_code == 400
    assert response.json_body == {"error": "invalid_input", "message": "request has no body"}


def test_signed_body_that_is_not_json_is_400(client: Client, state: SimpleNamespace) -> None:
    headers = sign([SECRET], "msg_notjson", b"hello")
    response = post(client, b"hello", headers)
    assert response.status_code == 400
    assert response.json_body == {
        "error": "invalid_input",
        "message": "body is not UTF-8 JSON (or is nested too deep)",
    }
    assert queued(state) == []


def test_signed_json_nested_too_deep_is_400_not_500(client: Client, state: SimpleNamespace) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = post(client, body, sign([SECRET], "msg_deep", body))
    assert (response.status_code, response.json_body["error"]) == (400, "invalid_input")
    assert queued(state) == []


def test_duplicate_id_is_200_and_queued_once(client: Client, state: SimpleNamespace) -> None:
    # GIVEN a webhook that was received and queued
    body, headers = webhook([SECRET])
    assert post(client, body, headers).status_code == 200
    # WHEN hookrelay sends it again (a retry: same id, signed afresh)
    again = sign([SECRET], headers["webhook-id"], body, timestamp=int(time.time()) + 1)
    response = post(client, body, again)
    # THEN 200 "duplicate", and the queue holds it once
    assert response.status_code == 200
    assert response.json_body == {"status": "duplicate", "webhook_id": headers["webhook-id"]}
    assert len(queued(state)) == 1


def test_copy_in_flight_elsewhere_is_409_and_not_queued(client: Client, state: SimpleNamespace) -> None:
    # GIVEN another request holds a live lease on this webhook id (it has not queued it yet)
    body, headers = webhook([SECRET])
    now = int(time.time())
    state.dynamodb.put_item(
        TableName=TABLE,
        Item={
            "webhook_id": {"S": headers["webhook-id"]},
            "status": {"S": "pending"},
            "lease_token": {"S": "other"},
            "lease_until": {"N": str(now + 30)},
            "expires_at": {"N": str(now + 3600)},
        },
    )
    response = post(client, body, headers)
    assert response.status_code == 409
    assert response.json_body["error"] == "conflict"
    assert queued(state) == []


def test_body_over_the_limit_is_413(make_app: MakeApp, state: SimpleNamespace) -> None:
    client, _ = make_app(HOOKRELAY_RECEIVER_MAX_BODY_BYTES="1024")
    body = json.dumps({"type": "big", "data": {"x": "y" * 1024}}).encode()
    headers = sign([SECRET], "msg_big", body)
    response = post(client, body, headers)
    assert response.status_code == 413
    assert response.json_body == {"error": "payload_too_large", "message": "body is over the 1024-byte limit"}
    assert queued(state) == []


def test_declared_content_length_over_the_limit_is_413(make_app: MakeApp) -> None:
    client, _ = make_app(HOOKRELAY_RECEIVER_MAX_BODY_BYTES="1024")
    body, headers = webhook([SECRET])
    response = post(client, body, {**headers, "Content-Length": "5000000"})
    assert response.status_code == 413


def test_queue_failure_is_503_and_the_retry_is_queued(
    make_app: MakeApp, state: SimpleNamespace, sqs: Any
) -> None:
    # GIVEN the inbox queue is unavailable (it does not exist)
    missing_url = state.queue_url.replace(QUEUE, "hookrelay-receiver-down")
    client, _ = make_app(HOOKRELAY_RECEIVER_QUEUE_URL=missing_url)
    body, headers = webhook([SECRET])
    # WHEN a webhook arrives THEN 503 (hookrelay retries) and its claim is released
    response = post(client, body, headers)
    assert response.status_code == 503
    assert response.json_body == {
        "error": "dependency_unavailable",
        "message": "temporarily unavailable; retry later",
    }
    record = state.dynamodb.get_item(TableName=TABLE, Key={"webhook_id": {"S": headers["webhook-id"]}})
    assert "Item" not in record
    # AND once the queue is back, hookrelay's retry is queued (not mistaken for a duplicate)
    sqs.create_queue(QueueName="hookrelay-receiver-down")
    retry = sign([SECRET], headers["webhook-id"], body)
    assert post(client, body, retry).json_body["status"] == "queued"
    assert len(drain(sqs, missing_url)) == 1


def test_dedup_table_failure_is_503(make_app: MakeApp, state: SimpleNamespace) -> None:
    client, _ = make_app(HOOKRELAY_RECEIVER_TABLE="no-such-table")
    body, headers = webhook([SECRET])
    response = post(client, body, headers)
    assert response.status_code == 503
    assert response.json_body["error"] == "dependency_unavailable"
    assert queued(state) == []


def test_unexpected_error_is_500_without_details(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client, module = make_app()

    def explode(*args: object) -> None:
        raise RuntimeError(f"boom {SECRET}")

    monkeypatch.setattr(module, "receive", explode)
    body, headers = webhook([SECRET])
    response = post(client, body, headers)
    assert response.status_code == 500
    assert response.json_body == {"error": "internal_error", "message": "internal error"}
    assert [r.getMessage() for r in caplog.records] == ["unexpected error receiving a webhook"]


def test_misconfigured_secret_is_503_without_quoting_it(make_app: MakeApp) -> None:
    client, _ = make_app(HOOKRELAY_RECEIVER_SECRETS="whsec_dG9vc2hvcnQ=")
    body, headers = webhook([SECRET])
    response = post(client, body, headers)
    assert response.status_code == 503
    assert response.json_body == {
        "error": "dependency_unavailable",
        "message": "temporarily unavailable; retry later",
    }


def test_path_is_configurable(make_app: MakeApp) -> None:
    client, module = make_app(HOOKRELAY_RECEIVER_PATH="/hooks/hookrelay")
    assert list(module.app.routes) == ["/hooks/hookrelay"]
    body, headers = webhook([SECRET])
    assert post(client, body, headers, path="/hooks/hookrelay").status_code == 200


def test_legacy_header_is_checked_when_enabled(make_app: MakeApp) -> None:
    client, _ = make_app(HOOKRELAY_RECEIVER_LEGACY_SIGNATURE="true")
    body, headers = webhook([SECRET], legacy=True)
    assert post(client, body, headers).status_code == 200
    body, headers = webhook([SECRET], legacy=True)
    wrong = {**headers, "X-Request-Signature-SHA-256": "0" * 64}
    assert post(client, body, wrong).status_code == 401
    del headers["X-Request-Signature-SHA-256"]
    assert post(client, body, headers).status_code == 400


def test_secrets_from_secrets_manager_accept_only_active_keys(make_app: MakeApp, secretsmanager: Any) -> None:
    # GIVEN hookrelay's own key JSON in Secrets Manager: a new key, and an old one that expired
    keys = SigningKeys(
        keys=[
            SigningKey(secret=SECRET),
            SigningKey(secret=OLD_SECRET, expires_at="2020-01-01T00:00:00Z"),
        ]
    )
    secretsmanager.create_secret(Name="acme/signing", SecretString=keys.to_secret_string())
    client, _ = make_app(HOOKRELAY_RECEIVER_SECRET_ID="acme/signing")
    body, headers = webhook([SECRET])
    assert post(client, body, headers).status_code == 200
    body, headers = webhook([OLD_SECRET])
    assert post(client, body, headers).status_code == 401


def test_missing_secrets_manager_secret_is_503_without_naming_it(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = make_app(HOOKRELAY_RECEIVER_SECRET_ID="acme/none")
    body, headers = webhook([SECRET])
    response = post(client, body, headers)
    assert response.status_code == 503
    # the sender is not authenticated: our resource names stay in our log
    assert response.json_body["message"] == "temporarily unavailable; retry later"
    assert [getattr(r, "reason", None) for r in caplog.records] == ["signing secret acme/none does not exist"]


def test_inbox_consumer_hands_each_queued_webhook_to_the_processing(
    make_app: MakeApp, state: SimpleNamespace
) -> None:
    # GIVEN a webhook received and queued, and the partner's processing plugged in
    client, module = make_app()
    body, headers = webhook([SECRET])
    post(client, body, headers)
    seen: list[ReceivedWebhook] = []
    module.process_webhook = seen.append
    # WHEN the inbox consumer gets the queued message
    result = client.lambda_.invoke("inbox", lambda_records(queued(state)))
    # THEN processing saw the verified webhook, and the batch reports no failure
    assert result.payload == {"batchItemFailures": []}
    [received] = seen
    assert (received.webhook_id, received.type, received.timestamp) == (
        headers["webhook-id"],
        "customer.created",
        int(headers["webhook-timestamp"]),
    )
    assert received.payload == json.loads(body)
