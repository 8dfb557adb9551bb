"""hookrelay sqs-mv: the mover as a Lambda (``move``), the same engine as the ``sqs-mv`` CLI.

Invoke with ``{"source": "...", "dest": "..." | "to_origin": true, "limit": 100, ...}`` (any
:class:`hookrelay.mover.request.MoveRequest` field). Returns ``{"ok": true, "report": {...}}``, or
``{"ok": false, "error": {"code", "message"}}`` for bad input, a missing queue, no permission, or
source equal to dest. It stops taking new batches shortly before the Lambda's deadline
(``stop_reason: "deadline"``): invoke it again to continue.
"""

from __future__ import annotations

import time
from typing import Any

from chalice import Chalice
from pydantic import ValidationError

from hookrelay.errors import HookrelayError, validation_message
from hookrelay.mover.engine import move_messages
from hookrelay.mover.request import MoveRequest, mover_settings
from hookrelay.observability import configure_logging, invocation
from hookrelay.tracing import configure_tracing

app = Chalice(app_name="hookrelay-sqs-mv")


@app.lambda_function(name="move")
def move(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with invocation(context):
        return _move(event, context)


def _move(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = mover_settings()
    configure_logging("sqs-mv", settings.log_level)
    configure_tracing(("botocore",))
    try:
        request = MoveRequest.model_validate(
            {"concurrency": settings.default_concurrency, **event} if isinstance(event, dict) else event
        )
    except ValidationError as exc:
        return _error("invalid_input", validation_message(exc, where="request"))
    deadline = None
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining_ms):
        remaining = remaining_ms() / 1000  # stop taking batches a margin (at most half) before the end
        deadline = time.monotonic() + remaining - min(settings.deadline_margin_seconds, remaining / 2)
    try:
        report = move_messages(request, deadline=deadline)
    except HookrelayError as exc:
        return _error(exc.code, exc.message)
    result = {"ok": report.ok, "report": report.model_dump(mode="json")}
    if report.fatal:  # the queue vanished or access was revoked mid-move
        result["error"] = {"code": report.fatal, "message": report.errors[0] if report.errors else ""}
    return result


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}
