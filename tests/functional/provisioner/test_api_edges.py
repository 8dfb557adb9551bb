"""The API's rough edges: a PATCH that changes nothing writes nothing, and the answers Chalice gives
itself (an unsupported method, an unsupported media type) come in our error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from hookrelay.provisioning.openapi import openapi_document
from hookrelay.provisioning.operations import OPERATIONS
from hookrelay_local.chalice_apps import ServedApp

from .conftest import APP, URL, load_app, writes
from .test_api import call


@pytest.mark.parametrize(
    "patch",
    [
        {},
        {
            "url": URL,
            "max_concurrency": 2,
            "reserved_concurrency": None,  # null releases a reservation: there is none
            "post_concurrency": 5,
            "legacy_signature": False,
        },
    ],
    ids=["empty", "same-values"],
)
def test_a_patch_that_changes_nothing_writes_nothing(
    http: Any, aws_calls: list[str], patch: dict[str, Any]
) -> None:
    # GIVEN a partner with the default options
    status, created = call(http, "POST", "/partners", {"partner_id": "acme", "url": URL})
    assert status == 201
    del created["secret"]
    aws_calls.clear()
    # WHEN it is patched with nothing, or with the values it already has
    status, answer = call(http, "PATCH", "/partners/acme", patch)
    # THEN 200 with the partner exactly as it was (updated_at included)
    assert (status, answer) == (200, created)
    # AND no AWS resource was written: no Lambda, SQS, DynamoDB or any other write call
    assert aws_calls, "the partner was read"
    assert writes(aws_calls) == []
    assert [c for c in aws_calls if c.startswith(("lambda:", "sqs:"))] == []


def test_a_patch_that_changes_one_value_still_applies_it(http: Any, aws_calls: list[str]) -> None:
    # GIVEN a partner, WHEN one option changes to a new value
    call(http, "POST", "/partners", {"partner_id": "acme", "url": URL})
    aws_calls.clear()
    status, answer = call(http, "PATCH", "/partners/acme", {"post_concurrency": 7})
    # THEN it is applied to the live function and stored
    assert (status, answer["post_concurrency"]) == (200, 7)
    assert "lambda:UpdateFunctionConfiguration" in writes(aws_calls)
    assert "dynamodb:UpdateItem" in writes(aws_calls)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/partners/acme", "GET, PATCH, DELETE"),
        ("DELETE", "/partners", "POST, GET"),
        ("GET", "/partners/acme/enable", "POST"),
    ],
)
def test_an_unsupported_method_gets_405_in_our_shape(http: Any, method: str, path: str, allow: str) -> None:
    # WHEN a path is called with a method it does not have
    response = http.http.request(method, path, headers={"Content-Type": "application/json"}, body=b"{}")
    # THEN 405 method_not_allowed in our JSON shape, naming the allowed methods, and an Allow header
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"
    assert sorted(response.headers["Allow"].split(", ")) == sorted(allow.split(", "))
    body = json.loads(response.body)
    assert body == {
        "error": "method_not_allowed",
        "message": f"unsupported method: {method}; allowed: {response.headers['Allow']}",
    }


def test_an_unsupported_media_type_gets_415_in_our_shape(http: Any) -> None:
    # WHEN a body is sent as XML
    response = http.http.post(
        "/partners", headers={"Content-Type": "application/xml"}, body=b"<partner id='acme'/>"
    )
    # THEN 415 unsupported_media_type in our JSON shape, and nothing was created
    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {
        "error": "unsupported_media_type",
        "message": "unsupported media type: application/xml; send application/json",
    }
    assert call(http, "GET", "/partners") == (200, {"items": [], "next_cursor": None})


def test_our_own_errors_pass_the_middleware_unchanged(http: Any) -> None:
    # WHEN a route answers one of our errors (an unknown partner), THEN it reaches the caller as it was
    status, body = call(http, "GET", "/partners/nobody")
    assert (status, body["error"], sorted(body)) == (404, "not_found", ["error", "message"])
    assert "nobody" in body["message"]


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The provisioner app served over loopback as ``make run`` serves it (chalice local's gateway)."""
    app = ServedApp(load_app(APP, "hookrelay_provisioner_app_served").app).start()
    yield app.url
    app.stop()


def send(url: str, method: str, content_type: str, body: bytes) -> tuple[int, Any, Any]:
    response = requests.request(method, url, data=body, headers={"Content-Type": content_type}, timeout=10)
    return response.status_code, response.headers, response.json()


def test_chalice_local_answers_405_and_415_in_our_shape(served: str) -> None:
    # WHEN the served API gets a PUT on a partner, and a POST of XML
    status, headers, body = send(f"{served}/partners/acme", "PUT", "application/json", b"{}")
    # THEN 405 method_not_allowed in our JSON shape with an Allow header
    assert (status, headers["Allow"], headers["Content-Type"]) == (
        405,
        "GET, PATCH, DELETE",
        "application/json",
    )
    assert body == {
        "error": "method_not_allowed",
        "message": "unsupported method: PUT; allowed: GET, PATCH, DELETE",
    }
    # AND 415 unsupported_media_type in our JSON shape
    status, headers, body = send(f"{served}/partners", "POST", "application/xml", b"<partner/>")
    assert (status, headers["Content-Type"]) == (415, "application/json")
    assert body == {
        "error": "unsupported_media_type",
        "message": "unsupported media type: application/xml; send application/json",
    }


def test_the_openapi_document_declares_415_for_every_operation() -> None:
    # GIVEN the served API description, THEN every operation documents 415 with our error body
    operations = [op for path in openapi_document()["paths"].values() for op in path.values()]
    assert (
        len(operations) == len(OPERATIONS) == 15 + 4 + 2 + 2
    )  # 11, + /capacity, + the rollouts' get, continue, rollback; + get webhook, resend, replay,
    # replay state; + portal-link and redrive (issue 18); + POST /events and /events/batch
    for operation in operations:
        schema = operation["responses"]["415"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}
