"""The REST API through chalice.test.Client on moto: the happy paths, and every bad input as 4xx JSON."""

from __future__ import annotations

import json
from typing import Any

from .conftest import URL

JSON = {"Content-Type": "application/json"}


def call(http: Any, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
    response = getattr(http.http, method.lower())(path, headers=JSON, body=data)
    return response.status_code, json.loads(response.body)


def test_post_partners_returns_the_secret_once(http: Any) -> None:
    # WHEN a partner is created with just an id and a url
    status, created = call(http, "POST", "/partners", {"partner_id": "acme", "url": URL})
    # THEN 201 with its secret and defaults
    assert status == 201
    assert created["secret"].startswith("whsec_")
    assert (
        created["partner_id"],
        created["status"],
        created["max_concurrency"],
        created["reserved_concurrency"],
        created["provisioned_concurrency"],
    ) == ("acme", "active", 2, None, None)
    # AND no later read shows the secret
    for path in ("/partners", "/partners/acme"):
        status, body = call(http, "GET", path)
        assert status == 200
        assert created["secret"] not in json.dumps(body)
        assert "secret" not in json.dumps(body).replace("secret_", "")


def test_a_partners_lifecycle_over_http(http: Any) -> None:
    # GIVEN a created partner accepting invoice.* events
    call(http, "POST", "/partners", {"partner_id": "acme", "url": URL, "event_types": ["invoice.*"]})
    # WHEN it is listed, published to, disabled, enabled, patched, rotated, read and deleted
    assert [p["partner_id"] for p in call(http, "GET", "/partners")[1]["items"]] == ["acme"]
    status, published = call(http, "POST", "/partners/acme/events", {"topic": "invoice.paid", "payload": {}})
    assert (status, published["topic"]) == (202, "invoice.paid")
    assert call(http, "POST", "/partners/acme/disable")[1]["status"] == "disabled"
    assert call(http, "GET", "/partners/acme")[1]["mapping_state"] == "Disabled"
    assert call(http, "POST", "/partners/acme/enable")[1]["status"] == "active"
    assert call(http, "PATCH", "/partners/acme", {"post_concurrency": 10})[1]["post_concurrency"] == 10
    status, rotated = call(http, "POST", "/partners/acme/rotate-secret")
    assert (status, rotated["secret"][:6]) == (200, "whsec_")
    status, state = call(http, "GET", "/partners/acme")
    assert (status, state["queue"]["visible"], state["last_delivery"]) == (200, 1, None)
    assert call(http, "GET", "/partners/acme/deliveries?limit=5")[1] == {"items": [], "next_cursor": None}
    status, deleted = call(http, "DELETE", "/partners/acme")
    # THEN each answer is the expected one, and delete reports what it removed
    assert status == 200
    assert "partner:acme" in deleted["removed"]
    assert call(http, "GET", "/partners")[1] == {"items": [], "next_cursor": None}


def test_update_code_over_http(http: Any) -> None:
    # GIVEN a partner, WHEN update-code is posted for it, THEN a rollout of that partner is running
    call(http, "POST", "/partners", {"partner_id": "acme", "url": URL})
    status, rollout = call(http, "POST", "/update-code", {"partner_ids": ["acme"]})
    assert (status, rollout["status"], rollout["total"], rollout["succeeded"], rollout["failed"]) == (
        202, "running", 1, 0, 0,
    )  # fmt: skip
    # AND it can be read back by its id (tests/functional/provisioner/test_rollout_async.py runs the worker)
    status, read = call(http, "GET", f"/rollouts/{rollout['rollout_id']}")
    assert (status, read["rollout_id"], read["status"]) == (200, rollout["rollout_id"], "running")


def test_openapi_describes_every_route(http: Any) -> None:
    # WHEN the OpenAPI document is fetched, THEN it lists every path and method of the API
    response = http.http.get("/openapi.json")
    document = json.loads(response.body)
    routes = sorted((path, method) for path, ops in document["paths"].items() for method in ops)
    assert routes == [
        ("/capacity", "get"), ("/events", "post"), ("/events/batch", "post"),
        ("/partners", "get"), ("/partners", "post"), ("/partners/{id}", "delete"),
        ("/partners/{id}", "get"),
        ("/partners/{id}", "patch"), ("/partners/{id}/deliveries", "get"), ("/partners/{id}/disable", "post"),
        ("/partners/{id}/enable", "post"), ("/partners/{id}/events", "post"),
        ("/partners/{id}/portal-link", "post"), ("/partners/{id}/redrive", "post"),
        ("/partners/{id}/replay", "post"), ("/partners/{id}/replays/{replay_id}", "get"),
        ("/partners/{id}/rotate-secret", "post"),
        ("/partners/{id}/webhooks/{webhook_id}", "get"),
        ("/partners/{id}/webhooks/{webhook_id}/resend", "post"),
        ("/rollouts/{id}", "get"),
        ("/rollouts/{id}/continue", "post"), ("/rollouts/{id}/rollback", "post"), ("/update-code", "post"),
    ]  # fmt: skip
    assert document["components"]["schemas"]["PartnerCreate"]["required"] == ["url", "partner_id"]


def test_each_operation_is_a_lambda_function_too(http: Any) -> None:
    # GIVEN the per-operation Lambda functions, WHEN create, publish and status are invoked
    created = http.lambda_.invoke("create", {"partner_id": "acme", "url": URL}).payload
    published = http.lambda_.invoke("publish", {"partner_id": "acme", "topic": "t", "payload": {}}).payload
    state = http.lambda_.invoke("status", {"partner_id": "acme"}).payload
    missing = http.lambda_.invoke("delete", {"partner_id": "nobody"}).payload
    # THEN they answer as the API does, errors included
    assert created["secret"].startswith("whsec_")
    assert published["partner_id"] == "acme"
    assert state["queue"]["visible"] == 1
    assert missing == {"error": "not_found", "message": "partner 'nobody' does not exist", "status": 404}


def test_a_body_without_a_json_content_type_is_still_read_as_json(http: Any) -> None:
    # GIVEN a body sent the way `curl -d` sends it (form-urlencoded), WHEN a partner is created
    response = http.http.post(
        "/partners",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=json.dumps({"partner_id": "acme", "url": URL}),
    )
    # THEN it is created all the same
    assert response.status_code == 201
