"""Every endpoint's bad inputs give a 4xx JSON error with a message, never a 500 (table-driven).

One moto world (with partner "acme" accepting invoice.*) serves the whole table: none of these
requests changes anything, and building the world per case would cost seconds each.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from hookrelay.provisioning.api import Api

from .conftest import URL, build_provisioner
from .test_api import call


@pytest.fixture(scope="module")
def shared_http(app_module: ModuleType) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("AWS_XRAY_SDK_ENABLED", "false")
        api = Api(build_provisioner())
        patch.setattr(app_module, "api", lambda: api)
        with Client(app_module.app) as client:
            call(
                client, "POST", "/partners", {"partner_id": "acme", "url": URL, "event_types": ["invoice.*"]}
            )
            yield client


EVENTS = "/partners/acme/events"
BIG = {"topic": "t", "payload": {"blob": "x" * (256 * 1024)}}


def new(**fields: Any) -> dict[str, Any]:
    return {"partner_id": "new", "url": URL, **fields}


def event(**fields: Any) -> dict[str, Any]:
    return {"topic": "invoice.paid", "payload": {}, **fields}


def _cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


# cursors shaped by hand, not returned by the API: DynamoDB would refuse them with a 503
WRONG_TYPE_CURSOR = _cursor({"partner_id": {"S": "acme"}, "sort_key": {"N": "1"}})
PARTIAL_CURSOR = _cursor({"sort_key": {"S": "x"}})

BAD_INPUTS = [
    # (method, path, body, status, error code, words in the message)
    ("POST", "/partners", "{not json", 400, "invalid_input", "malformed JSON"),
    ("POST", "/partners", "[1, 2]", 400, "invalid_input", "JSON object"),
    ("POST", "/partners", {"url": URL}, 400, "invalid_input", "partner_id: Field required"),
    ("POST", "/partners", {"partner_id": "acme"}, 400, "invalid_input", "url: Field required"),
    ("POST", "/partners", {"partner_id": "Bad_Id", "url": URL}, 400, "invalid_input", "partner_id"),
    ("POST", "/partners", {"partner_id": "results", "url": URL}, 400, "invalid_input", "reserved"),
    ("POST", "/partners", {"partner_id": "new", "url": "ftp://x"}, 400, "invalid_input", "http or https"),
    ("POST", "/partners", {"partner_id": "new", "url": "not a url"}, 400, "invalid_input", "url"),
    ("POST", "/partners", new(url="http://10.0.0.7/h"), 400, "unsafe_destination", "10.0.0.7"),
    ("POST", "/partners", new(url="http://169.254.169.254/"), 400, "unsafe_destination", "public"),
    ("POST", "/partners", new(post_concurrency=11), 400, "invalid_input", "post_concurrency"),
    ("POST", "/partners", new(reserved_concurrency=1), 400, "invalid_input", "reserved_concurrency"),
    ("POST", "/partners", new(bogus=1), 400, "invalid_input", "bogus"),
    ("POST", "/partners", {"partner_id": "acme", "url": URL}, 409, "conflict", "already exists"),
    ("GET", "/partners/nobody", None, 404, "not_found", "nobody"),
    ("GET", "/partners/NOT_AN_ID", None, 400, "invalid_input", "partner id"),
    ("PATCH", "/partners/nobody", {"url": URL}, 404, "not_found", "nobody"),
    ("PATCH", "/partners/acme", "{", 400, "invalid_input", "malformed JSON"),
    ("PATCH", "/partners/acme", {"url": "http://192.168.1.1/"}, 400, "unsafe_destination", "192.168.1.1"),
    ("PATCH", "/partners/acme", {"read_timeout": 0}, 400, "invalid_input", "read_timeout"),
    ("PATCH", "/partners/acme", {"partner_id": "other"}, 400, "invalid_input", "partner_id"),
    ("DELETE", "/partners/nobody", None, 404, "not_found", "nobody"),
    ("POST", "/partners/nobody/disable", None, 404, "not_found", "nobody"),
    ("POST", "/partners/acme/disable", {"purge": "maybe"}, 400, "invalid_input", "purge"),
    ("POST", "/partners/nobody/enable", None, 404, "not_found", "nobody"),
    ("POST", "/partners/nobody/rotate-secret", None, 404, "not_found", "nobody"),
    ("POST", "/partners/nobody/events", {"topic": "invoice.paid", "payload": {}}, 404, "not_found", "nobody"),
    ("POST", EVENTS, "{", 400, "invalid_input", "malformed JSON"),
    ("POST", EVENTS, {"payload": {}}, 400, "invalid_input", "topic: Field required"),
    ("POST", EVENTS, {"topic": "invoice.paid"}, 400, "invalid_input", "payload: Field required"),
    ("POST", EVENTS, event(payload=[]), 400, "invalid_input", "payload"),
    ("POST", EVENTS, event(topic="user.created"), 422, "event_type_not_accepted", "user.created"),
    ("POST", EVENTS, event(id="has space"), 400, "invalid_input", "id"),
    ("POST", EVENTS, BIG, 413, "payload_too_large", "limit is 262144"),
    ("GET", "/partners/nobody/deliveries", None, 404, "not_found", "nobody"),
    ("GET", "/partners/acme/deliveries?limit=0", None, 400, "invalid_input", "limit"),
    ("GET", "/partners/acme/deliveries?limit=x", None, 400, "invalid_input", "limit"),
    ("GET", "/partners/acme/deliveries?cursor=e30", None, 400, "invalid_input", "cursor"),
    ("GET", f"/partners/acme/deliveries?cursor={WRONG_TYPE_CURSOR}", None, 400, "invalid_input", "cursor"),
    ("GET", f"/partners/acme/deliveries?cursor={PARTIAL_CURSOR}", None, 400, "invalid_input", "cursor"),
    ("GET", "/partners/acme/deliveries?limit=%C2%B2", None, 400, "invalid_input", "limit"),
    ("GET", "/partners/acme%0A", None, 400, "invalid_input", "partner id"),
    ("POST", "/update-code", "{", 400, "invalid_input", "malformed JSON"),
    ("POST", "/update-code", {"partner_ids": "acme"}, 400, "invalid_input", "partner_ids"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error", "words"),
    BAD_INPUTS,
    ids=[f"{m} {p} {s}-{i}" for i, (m, p, _, s, _, _) in enumerate(BAD_INPUTS)],
)
def test_bad_input_gets_a_4xx_json_error_with_a_message(
    shared_http: Any, method: str, path: str, body: Any, status: int, error: str, words: str
) -> None:
    # GIVEN a partner "acme" accepting invoice.* events
    # WHEN the bad request is made
    got_status, got = call(shared_http, method, path, body)
    # THEN the answer is that 4xx, an error code and a message saying what was wrong
    assert (got_status, got["error"]) == (status, error), got
    assert words in got["message"]
    assert set(got) == {"error", "message"}
