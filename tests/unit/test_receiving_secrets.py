"""The receiver's secrets: every accepted form, never quoted in an error, Secrets Manager cached."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookrelay.errors import DependencyUnavailable
from hookrelay.receiving.secrets import ManagedSecrets, StaticSecrets, parse_secrets
from hookrelay.signing.keys import SigningKey, SigningKeys
from hookrelay.signing.standard import generate_secret

NEW = generate_secret()
OLD = generate_secret()


@pytest.mark.parametrize(
    "text",
    [f"{NEW},{OLD}", f" {NEW}  {OLD}\n", f"{NEW}, {OLD}", json.dumps([NEW, OLD])],
    ids=["commas", "whitespace", "comma-space", "json-list"],
)
def test_several_secrets_in_one_value(text: str) -> None:
    assert StaticSecrets(text).secrets() == [NEW, OLD]


def test_one_plain_secret() -> None:
    assert StaticSecrets(NEW).secrets() == [NEW]


def test_hookrelay_key_json_yields_only_active_keys() -> None:
    expired = SigningKey(secret=OLD, expires_at="2020-01-01T00:00:00Z")
    keys = SigningKeys(keys=[SigningKey(secret=NEW), expired])
    assert StaticSecrets(keys.to_secret_string()).secrets() == [NEW]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{NEW},whsec_c2hvcnQ=", "secret #2 is not a whsec_ secret of 24 to 64 bytes"),
        ('["whsec_x", 3]', "a JSON list of secrets must hold strings only"),
        ('{"keys": [{"secret": "whsec_x"', "secrets are not in an accepted form"),
        ("[]", "secrets are not in an accepted form"),
    ],
    ids=["short-second-secret", "non-string-in-list", "truncated-json", "empty-list"],
)
def test_bad_values_are_refused_without_quoting_them(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the exact message is asserted below
        parse_secrets(text)
    assert str(caught.value) == message
    # No chained parser error (whose text could quote the value) travels with it.
    error = caught.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


class FakeSecretsManager:
    """A Secrets Manager that counts reads; the value can change between them."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        self.reads += 1
        return {"SecretString": self.value}


def test_managed_secrets_are_read_once_per_ttl() -> None:
    # GIVEN a secret read through a 300 s cache
    client = FakeSecretsManager(NEW)
    clock = [1000.0]
    source = ManagedSecrets("acme/signing", 300, client, clock=lambda: clock[0])
    assert source.secrets() == [NEW]
    # WHEN it is rotated THEN the cached value holds until the TTL passes
    client.value = json.dumps([OLD, NEW])
    clock[0] += 299
    assert source.secrets() == [NEW]
    clock[0] += 2
    assert source.secrets() == [OLD, NEW]
    assert client.reads == 2


def test_a_managed_secret_in_no_accepted_form_is_unavailable_not_quoted() -> None:
    source = ManagedSecrets("acme/signing", 300, FakeSecretsManager("whsec_c2hvcnQ="))
    with pytest.raises(DependencyUnavailable) as caught:
        source.secrets()
    assert caught.value.message == (
        "signing secret acme/signing is not in the expected form:"
        " secret #1 is not a whsec_ secret of 24 to 64 bytes"
    )
    assert "c2hvcnQ" not in caught.value.message
