"""The OpenAPI 3.1 description of the provisioner's REST API, generated from its pydantic models."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hookrelay.attempts.log import DeliveryPage
from hookrelay.partners.model import Partner, PartnerCreate, PartnerUpdate
from hookrelay.provisioning.api import (
    DisableRequest,
    ErrorBody,
    PartnerCreated,
    PartnerList,
    SecretRotated,
)
from hookrelay.provisioning.lifecycle import Deleted
from hookrelay.provisioning.publish import Published, PublishRequest
from hookrelay.provisioning.rollout import Rollout, RolloutRequest
from hookrelay.provisioning.status import PartnerState

REF = "#/components/schemas/{model}"
MODELS: list[type[BaseModel]] = [
    PartnerCreate,
    PartnerCreated,
    PartnerUpdate,
    Partner,
    PartnerList,
    PartnerState,
    Deleted,
    DisableRequest,
    SecretRotated,
    PublishRequest,
    Published,
    DeliveryPage,
    RolloutRequest,
    Rollout,
    ErrorBody,
]
PARTNER_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}

# (method, path, summary, request model or None, success status, response model)
OPERATIONS: list[tuple[str, str, str, type[BaseModel] | None, int, type[BaseModel] | None]] = [
    ("post", "/partners", "Create a partner (returns its secret, once)", PartnerCreate, 201, PartnerCreated),
    ("get", "/partners", "List partners", None, 200, PartnerList),
    ("get", "/partners/{id}", "A partner and its live status", None, 200, PartnerState),
    ("patch", "/partners/{id}", "Change delivery options", PartnerUpdate, 200, Partner),
    ("delete", "/partners/{id}", "Delete a partner and everything it owns", None, 200, Deleted),
    ("post", "/partners/{id}/disable", "Stop delivering, keep messages", DisableRequest, 200, Partner),
    ("post", "/partners/{id}/enable", "Resume delivering", None, 200, Partner),
    (
        "post",
        "/partners/{id}/rotate-secret",
        "New secret; the old signs for a grace period",
        None,
        200,
        SecretRotated,
    ),
    ("post", "/partners/{id}/events", "Publish an event to the partner", PublishRequest, 202, Published),
    ("get", "/partners/{id}/deliveries", "Delivery attempts, newest first", None, 200, DeliveryPage),
    ("post", "/update-code", "Move handlers to the newest artifact", RolloutRequest, 200, Rollout),
]


def _content(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}


def _operation(path: str, summary: str, request: type[BaseModel] | None, ok: int, response: Any) -> Any:
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if "{id}" in path:
        op["parameters"] = [PARTNER_ID]
    if path.endswith("/deliveries"):
        op["parameters"] += [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        ]
    if request is not None:
        op["requestBody"] = {"required": path == "/partners", "content": _content(request)}
    success: dict[str, Any] = {"description": "OK"}
    if response is not None:
        success["content"] = _content(response)
    op["responses"][str(ok)] = success
    for status, why in ((400, "invalid input"), (404, "unknown partner"), (409, "conflict")):
        op["responses"][str(status)] = {"description": why, "content": _content(ErrorBody)}
    if path.endswith("/events"):
        op["responses"]["413"] = {"description": "event too large", "content": _content(ErrorBody)}
        op["responses"]["422"] = {"description": "event type not accepted", "content": _content(ErrorBody)}
    return op


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema([(m, "validation") for m in MODELS], ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, request, ok, response in OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(path, summary, request, ok, response)
    return {
        "openapi": "3.1.0",
        "info": {"title": "hookrelay provisioner", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas.get("$defs", {})},
    }
