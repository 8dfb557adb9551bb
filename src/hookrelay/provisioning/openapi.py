"""The OpenAPI 3.1 description of the provisioner's REST API, generated from the operation table
(:data:`hookrelay.provisioning.operations.OPERATIONS`) and its pydantic models."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hookrelay.provisioning.api import ErrorBody
from hookrelay.provisioning.operation import Operation
from hookrelay.provisioning.operations import OPERATIONS

REF = "#/components/schemas/{model}"
PARTNER_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
ERRORS = {
    400: "invalid input",
    404: "unknown partner",
    409: "conflict",
    410: "expired: past its retention, or its kept body is gone",
    413: "event too large",
    415: "unsupported media type (unsupported_media_type): send application/json",
    422: "event type not accepted",
    500: "AWS refused hookrelay's own role or request (permission_denied, configuration_error): "
    "retrying will not help",
    503: "an AWS dependency failed (dependency_unavailable): retry",
}


def _content(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}


def _operation(op: Operation) -> dict[str, Any]:
    document: dict[str, Any] = {"summary": op.summary, "responses": {}}
    parameters = [PARTNER_ID] if op.partner_path else []
    parameters += [{**PARTNER_ID, "name": name} for name in op.path_names]
    parameters += [{"name": q.name, "in": "query", "schema": q.schema} for q in op.query]
    if parameters:
        document["parameters"] = parameters
    if op.request is not None:
        document["requestBody"] = {"required": op.body_required, "content": _content(op.request)}
    document["responses"][str(op.status)] = {"description": "OK", "content": _content(op.answer)}
    if op.duplicates:  # issue 14: an id published already answers the original, marked duplicate
        document["responses"]["200"] = {
            "description": "duplicate: the first publish's answer",
            "content": _content(op.answer),
        }
    for status in sorted(op.errors):
        document["responses"][str(status)] = {"description": ERRORS[status], "content": _content(ErrorBody)}
    return document


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for op in OPERATIONS:
        found += [m for m in (op.request, op.answer) if m is not None and m not in found]
    return [*found, ErrorBody]


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema([(m, "validation") for m in _models()], ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "hookrelay provisioner", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas.get("$defs", {})},
    }
