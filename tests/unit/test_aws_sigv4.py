"""hookrelay.aws.sigv4 signs as botocore's SigV4Auth does, and reads Lambda's credentials as its
EnvProvider does; the lean caller falls back to botocore's resolver wherever credentials can expire."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.auth
import botocore.httpsession
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, RefreshableCredentials
from botocore.exceptions import PartialCredentialsError
from botocore.utils import parse_timestamp

from hookrelay.aws import endpoints, json_protocol, wire
from hookrelay.aws.sigv4 import StaticCredentials, environment_credentials, sign_post

REGION = "eu-west-1"
STAMP = datetime(2026, 12, 1, 14, 5, 9)
LAMBDA_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
HEADERS = {
    "Host": "sqs.eu-west-1.amazonaws.com",
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "AmazonSQS.SendMessageBatch",
    "User-Agent": "hookrelay-wire/1",
    "x-amzn-query-mode": "true",
}


def botocores(
    url: str, headers: dict[str, str], body: bytes, credentials: Any, service: str
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(credentials, service, REGION).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize(
    ("url", "headers", "body", "token"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/", HEADERS, b'{"QueueUrl":"q","Entries":[]}', None),
        ("https://sqs.eu-west-1.amazonaws.com/", HEADERS, "é, and more".encode(), "SESSION/TOKEN+=="),
        ("http://127.0.0.1:5000/", {**HEADERS, "Host": "127.0.0.1:5000"}, b"{}", "t"),
        ("http://127.0.0.1:5000/", {**HEADERS, "Host": "127.0.0.1:5000"}, b"", None),
        ("http://localhost:4566/aws/./x/../sqs/", {**HEADERS, "Host": "localhost:4566"}, b"{}", None),
        ("http://localhost:4566/a b~/", {**HEADERS, "Host": "localhost:4566"}, b"{}", None),
        (
            "https://sqs.eu-west-1.amazonaws.com/",
            {**HEADERS, "X-Amzn-Trace-Id": "Root=1-a", "X-Custom": "  two   spaces  ", "Connection": "x"},
            b"{}",
            "t",
        ),
    ],
)
def test_a_post_is_signed_byte_for_byte_as_botocore_signs_it(
    monkeypatch: pytest.MonkeyPatch, url: str, headers: dict[str, str], body: bytes, token: str | None
) -> None:
    # GIVEN a request of the lean caller's shape, credentials, and one moment
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: STAMP)
    credentials = Credentials("AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    path = url.split("/", 3)[3]

    # WHEN both sign it
    ours = sign_post(
        "/" + path, headers, body, credentials, "sqs", REGION, now=calendar.timegm(STAMP.timetuple())
    )

    # THEN the headers sent are the same, in the same order, Authorization included
    assert list(ours.items()) == list(botocores(url, headers, body, credentials, "sqs").items())


def test_a_previous_signature_is_replaced_not_added_to() -> None:
    # GIVEN headers that already carry a signature, a date and a token (a retried request's)
    stale = {**HEADERS, "Authorization": "old", "X-Amz-Date": "old", "X-Amz-Security-Token": "old"}

    # WHEN they are signed again with credentials without a token
    signed = sign_post("/", stale, b"{}", StaticCredentials("AKIA", "secret"), "sqs", REGION, now=0.0)

    # THEN the new date and signature are there once, and the stale token is gone
    assert signed["X-Amz-Date"] == "19700101T000000Z"
    assert signed["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIA/19700101/eu-west-1/sqs/")
    assert "X-Amz-Security-Token" not in signed


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (
            {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"},
            StaticCredentials("AKIA", "s", "t"),
        ),
        ({"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"}, StaticCredentials("AKIA", "s", None)),
        (
            {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SECURITY_TOKEN": "old"},
            StaticCredentials("AKIA", "s", "old"),
        ),
        (
            {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": ""},
            StaticCredentials("AKIA", "s", None),
        ),
        # botocore's resolver decides these: an expiry to refresh at, half a pair, nothing
        (
            {
                "AWS_ACCESS_KEY_ID": "AKIA",
                "AWS_SECRET_ACCESS_KEY": "s",
                "AWS_CREDENTIAL_EXPIRATION": "2030-01-01T00:00:00Z",
            },
            None,
        ),
        ({"AWS_ACCESS_KEY_ID": "AKIA"}, None),
        ({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "s"}, None),
        ({}, None),
    ],
)
def test_lambdas_credentials_are_read_as_botocores_env_provider_reads_them(
    environment: dict[str, str], expected: StaticCredentials | None
) -> None:
    # GIVEN an environment WHEN its credentials are read THEN they are these, or left to botocore
    assert environment_credentials(environment) == expected


def test_the_secret_key_is_never_in_the_credentials_repr() -> None:
    # GIVEN Lambda's credentials WHEN printed (a debug line, a traceback) THEN the secret and token stay out
    printed = repr(StaticCredentials("AKIAPRINTED", "SECRET-KEY-VALUE", "SESSION-TOKEN-VALUE"))
    assert "AKIAPRINTED" in printed
    assert "SECRET-KEY-VALUE" not in printed
    assert "SESSION-TOKEN-VALUE" not in printed


def _client_with(monkeypatch: pytest.MonkeyPatch, **environment: str) -> wire.SqsWire:
    for name in (*LAMBDA_VARIABLES, "AWS_CREDENTIAL_EXPIRATION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return wire.SqsWire("http://127.0.0.1:9/", REGION)


def test_lambdas_static_credentials_are_used_without_botocores_resolver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN Lambda's variables, no expiry, and botocore's resolver made to fail if it is asked
    client = _client_with(
        monkeypatch, AWS_ACCESS_KEY_ID="AKIA", AWS_SECRET_ACCESS_KEY="s", AWS_SESSION_TOKEN="t"
    )
    monkeypatch.setattr(json_protocol, "_resolved_credentials", lambda: pytest.fail("resolver asked"))

    # WHEN a call's credentials are taken THEN they are the environment's, frozen
    assert client._frozen_credentials() == StaticCredentials("AKIA", "s", "t")


def test_expiring_credentials_are_botocores_refreshable_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN credentials with an expiry in the environment (a container whose credentials must refresh)
    expiry = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    client = _client_with(
        monkeypatch, AWS_ACCESS_KEY_ID="AKIA", AWS_SECRET_ACCESS_KEY="s", AWS_CREDENTIAL_EXPIRATION=expiry
    )

    # WHEN a call's credentials are taken
    frozen = client._frozen_credentials()

    # THEN botocore's resolver gave them, refreshable, frozen for this call
    assert isinstance(client._credentials, RefreshableCredentials)
    assert (frozen.access_key, frozen.secret_key, frozen.token) == ("AKIA", "s", None)


def test_half_a_pair_is_botocores_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an access key without its secret WHEN a call's credentials are taken THEN botocore's error
    client = _client_with(monkeypatch, AWS_ACCESS_KEY_ID="AKIA")
    with pytest.raises(PartialCredentialsError):
        client._frozen_credentials()


def test_the_ca_bundle_is_the_one_botocore_verifies_with() -> None:
    # GIVEN botocore's bundle for verify=True THEN the lean caller's https pool checks against the same
    assert endpoints.ca_bundle() == botocore.httpsession.get_cert_path(True)


def test_a_secrets_created_date_is_the_instant_botocore_parses() -> None:
    # GIVEN an epoch timestamp as the JSON protocol sends it, and a string one
    for value in (1796134000.123, 1796134000, "2026-12-01T14:06:40Z"):
        # WHEN it is read THEN it is the same aware instant botocore's parser gives
        assert wire._timestamp(value) == parse_timestamp(value)
