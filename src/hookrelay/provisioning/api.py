"""The provisioner's API, independent of Chalice: raw input in, (status, JSON) out.

The REST routes and the per-operation Lambda functions both call :meth:`Api.call` with an entry of
:data:`hookrelay.provisioning.operations.OPERATIONS`, so both parse the same models and give the same
answers. Every bad input becomes a :class:`hookrelay.errors.InvalidInput` (or NotFound, Conflict,
PayloadTooLarge) with a message; :func:`error_answer` makes any domain error its status and JSON body.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hookrelay.errors import HookrelayError, InvalidInput, validation_message
from hookrelay.models import PARTNER_ID_PATTERN
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.operation import Call, Operation
from hookrelay.provisioning.operations import BY_NAME
from hookrelay.provisioning.publish import check_size

M = TypeVar("M", bound=BaseModel)
Answer = tuple[int, dict[str, Any]]
Raw = str | bytes | None
UNEXPECTED = {"error": "internal_error", "message": "unexpected failure; see the logs"}
# Chalice answers a method a path lacks (405, with Allow) and a body type a route does not take (415)
# itself, as {"Code": ..., "Message": ...}: our codes for those, and what to say after Chalice's message.
FRAMEWORK_ERRORS = {405: "method_not_allowed", 415: "unsupported_media_type"}

logger = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    error: str
    message: str


def parse(model: type[M], raw: Raw, **extra: Any) -> M:
    """Validate a JSON object body (empty means ``{}``) plus ``extra`` fields (path parameters)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw or ""
    try:
        body = json.loads(text.strip() or "{}")
    except ValueError as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    try:
        return model.model_validate({**body, **extra})
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc, limit=1)) from exc


def check_partner_id(partner_id: str) -> str:
    if not re.fullmatch(PARTNER_ID_PATTERN, partner_id):
        raise InvalidInput(f"partner id {partner_id!r} must be 1-32 of a-z, 0-9 and '-'")
    return partner_id


def error_answer(exc: HookrelayError) -> Answer:
    """A domain error as (status, body): 4xx for the caller's mistakes, 503 for a failing dependency,
    500 ``permission_denied`` / ``configuration_error`` when AWS refuses hookrelay's own role or request."""
    return exc.status_code, ErrorBody(error=exc.code, message=exc.message).model_dump()


def framework_answer(status: int, body: Any, hint: str) -> dict[str, Any] | None:
    """Chalice's own error answer (``{"Code", "Message"}``, status 405 or 415) in our shape, with ``hint``
    (what is allowed) after its message; None for any other answer (ours stay as they are)."""
    code = FRAMEWORK_ERRORS.get(status)
    if code is None or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return None
    message = str(body["Message"])
    return ErrorBody(error=code, message=f"{message[:1].lower()}{message[1:]}; {hint}").model_dump()


def framework_errors(request: Any, get_response: Callable[[Any], Any]) -> Any:
    """A Chalice HTTP middleware: the framework's own 405 (unknown method) and 415 (unknown body type)
    answers in our error shape, with what is allowed; every other answer as it was."""
    response = get_response(request)
    allow = response.headers.get("Allow")
    body = framework_answer(
        response.status_code, response.body, f"allowed: {allow}" if allow else "send application/json"
    )
    if body is not None:
        response.body, response.headers["Content-Type"] = body, "application/json"
    return response


class Api:
    """Runs one operation of the table: the raw body checked and parsed, the partner id checked."""

    def __init__(self, ctx: Provisioner) -> None:
        self.ctx = ctx

    def call(
        self,
        operation: Operation,
        partner_id: str | None,
        raw: Raw,
        query: Mapping[str, Any],
        path: Mapping[str, str] | None = None,
    ) -> Answer:
        """Domain errors propagate (the caller makes them answers with :func:`error_answer`)."""
        if operation.body_limit:
            check_size(raw or b"", self.ctx.settings.max_event_bytes)
        body = None if operation.request is None else parse(operation.request, raw)
        checked = "" if partner_id is None else check_partner_id(partner_id)
        params = {name: str((path or {}).get(name, "")) for name in operation.path_names}
        answer = operation.run(self.ctx, Call(partner_id=checked, body=body, query=query, path=params))
        duplicate = operation.duplicates and getattr(answer, "duplicate", False) is True
        return 200 if duplicate else operation.status, answer.model_dump(mode="json")

    def answer(
        self,
        operation: Operation,
        partner_id: str | None,
        raw: Raw,
        query: Mapping[str, Any],
        path: Mapping[str, str] | None = None,
    ) -> Answer:
        """:meth:`call`, every failure an answer: a domain error its own, anything else a bare 500."""
        try:
            return self.call(operation, partner_id, raw, query, path)
        except HookrelayError as exc:
            return error_answer(exc)
        except Exception:
            logger.exception("unexpected failure", extra={"operation": operation.name})
            return 500, dict(UNEXPECTED)

    def invoke(self, name: str, event: Any) -> dict[str, Any]:
        """A Lambda invocation: the event is the body plus ``partner_id`` (and the query parameters, as
        ``limit`` for deliveries); errors come back as their JSON body plus ``status``."""
        operation = BY_NAME.get(name)
        if operation is None:
            status, body = error_answer(InvalidInput(f"unknown operation {name!r}"))
        elif not isinstance(event, dict):
            status, body = error_answer(InvalidInput("the event must be a JSON object"))
        else:
            event = dict(event)
            partner_id = str(event.pop("partner_id", "")) if operation.partner_path else None
            query = {q.name: event.pop(q.name) for q in operation.query if event.get(q.name) is not None}
            path = {name: str(event.pop(name, "")) for name in operation.path_names}
            status, body = self.answer(operation, partner_id, json.dumps(event), query, path)
        return body if status < 400 else {**body, "status": status}
