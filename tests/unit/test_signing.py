"""Standard Webhooks v1 signing: what a partner's verifier (ours or any other) must accept."""

from __future__ import annotations

import base64

import pytest
import standardwebhooks

from hookrelay.signing import standard as signing
from hookrelay.signing.standard import WebhookVerificationError, sign, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_700_000_000
BODY = b'{"type":"transfer.created","data":{"id":1}}'


def test_known_vector_from_the_standard_webhooks_spec() -> None:
    # GIVEN the spec's published example
    headers = sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", b'{"test": 2432232314}', timestamp=1614265330)
    # THEN our signature is the published one
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_round_trip() -> None:
    headers = sign(SECRET, "msg_1", BODY, timestamp=NOW)
    verified = verify(SECRET, headers, BODY, now=NOW)
    assert (verified.webhook_id, verified.timestamp) == ("msg_1", NOW)


def test_the_reference_library_verifies_what_we_sign() -> None:
    headers = sign(SECRET, "msg_1", BODY)
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers) is not None


def test_we_verify_what_the_reference_library_signs() -> None:
    from datetime import UTC, datetime

    reference = standardwebhooks.Webhook(SECRET)
    stamp = datetime.fromtimestamp(NOW, tz=UTC)
    signature = reference.sign("msg_2", stamp, BODY.decode())
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(NOW), "webhook-signature": signature}
    assert verify(SECRET, headers, BODY, now=NOW).webhook_id == "msg_2"


def test_header_names_are_case_insensitive() -> None:
    headers = {k.upper(): v for k, v in sign(SECRET, "msg_1", BODY, timestamp=NOW).items()}
    assert verify(SECRET, headers, BODY, now=NOW).webhook_id == "msg_1"


def test_rotation_signs_with_every_secret_and_either_verifies() -> None:
    # GIVEN a partner mid-rotation: new and old secret both sign
    new = signing.generate_secret()
    headers = sign([new, SECRET], "msg_1", BODY, timestamp=NOW)
    # THEN there are two space-separated v1 entries
    assert len(headers["webhook-signature"].split(" ")) == 2
    # AND a receiver holding only the old secret, or only the new one, accepts it
    assert verify(SECRET, headers, BODY, now=NOW)
    assert verify(new, headers, BODY, now=NOW)


def test_a_receiver_with_several_secrets_accepts_a_signature_by_any() -> None:
    headers = sign(SECRET, "msg_1", BODY, timestamp=NOW)
    assert verify([signing.generate_secret(), SECRET], headers, BODY, now=NOW)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": BODY + b" "}, "no matching signature"),
        ({"secret": signing.generate_secret()}, "no matching signature"),
        ({"now": NOW + 301}, "too old"),
        ({"now": NOW - 301}, "too far in the future"),
    ],
)
def test_refusals(change: dict[str, object], message: str) -> None:
    headers = sign(SECRET, "msg_1", BODY, timestamp=NOW)
    with pytest.raises(WebhookVerificationError, match=message):
        verify(
            change.get("secret", SECRET),  # type: ignore[arg-type]
            headers,
            change.get("body", BODY),  # type: ignore[arg-type]
            now=change.get("now", NOW),  # type: ignore[arg-type]
        )


def test_tolerance_is_configurable() -> None:
    headers = sign(SECRET, "msg_1", BODY, timestamp=NOW)
    assert verify(SECRET, headers, BODY, now=NOW + 3000, tolerance_seconds=3600)
    with pytest.raises(WebhookVerificationError):
        verify(SECRET, headers, BODY, now=NOW + 61, tolerance_seconds=60)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("webhook-signature", "v1" + "abc"),  # no comma: the reference library's bare ValueError
        ("webhook-signature", "v1,not*base64!"),
        ("webhook-signature", "v2,Zm9v"),  # only an unknown version
        ("webhook-signature", ","),
        ("webhook-timestamp", "yesterday"),
        ("webhook-timestamp", "-5"),
        ("webhook-id", ""),
    ],
)
def test_malformed_headers_raise_the_one_error_type(header: str, value: str) -> None:
    headers = sign(SECRET, "msg_1", BODY, timestamp=NOW)
    headers[header] = value
    with pytest.raises(WebhookVerificationError):
        verify(SECRET, headers, BODY, now=NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_raise(missing: str) -> None:
    headers = sign(SECRET, "msg_1", BODY, timestamp=NOW)
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=missing):
        verify(SECRET, headers, BODY, now=NOW)


@pytest.mark.parametrize(
    "secret",
    ["", "whsec_", "whsec_not base64", "whsec_" + base64.b64encode(b"short").decode(), "whsec_" + "A" * 200],
)
def test_bad_secrets_raise_the_one_error_type(secret: str) -> None:
    with pytest.raises(WebhookVerificationError):
        sign(secret, "msg_1", BODY)


def test_generated_secrets_follow_the_spec() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert signing.generate_secret() != secret


def test_legacy_header_is_opt_in_and_verifies() -> None:
    plain = sign(SECRET, "msg_1", BODY, timestamp=NOW)
    assert signing.HEADER_LEGACY not in plain
    headers = sign(SECRET, "msg_1", BODY, timestamp=NOW, legacy=True)
    # It is the hex HMAC-SHA256 of the body keyed with the secret string, Dwolla's scheme.
    import hashlib
    import hmac

    assert headers[signing.HEADER_LEGACY] == hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    signing.verify_legacy(SECRET, headers, BODY)
    with pytest.raises(WebhookVerificationError):
        signing.verify_legacy(SECRET, headers, BODY + b"x")


def test_verifier_checks_the_legacy_header_when_asked() -> None:
    headers = sign(SECRET, "msg_1", BODY, timestamp=NOW)
    verifier = signing.Verifier([SECRET], legacy=True)
    with pytest.raises(WebhookVerificationError, match="X-Request-Signature-SHA-256"):
        verifier.verify(headers, BODY, now=NOW)
    headers = sign(SECRET, "msg_1", BODY, timestamp=NOW, legacy=True)
    assert verifier.verify(headers, BODY, now=NOW).webhook_id == "msg_1"
