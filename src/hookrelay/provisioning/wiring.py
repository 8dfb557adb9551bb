"""The operation table (:data:`~hookrelay.provisioning.operations.OPERATIONS`) registered with the
provisioner's Chalice app: a REST route and a Lambda function per operation. The app is passed in, with
the framework's ``Response`` and the routes' authorizer, so the core never imports chalice (as
:func:`hookrelay.provisioning.console.register_console`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hookrelay.observability import invocation
from hookrelay.provisioning.api import Api
from hookrelay.provisioning.operation import Operation
from hookrelay.provisioning.operations import OPERATIONS

JSON = {"Content-Type": "application/json"}


def register_operations(
    app: Any, api: Callable[[], Api], response: Callable[..., Any], authorizer: Any, content_types: list[str]
) -> dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]]:
    """Register every operation's route; return its Lambda functions by name (Lambda's handler setting is
    ``app.<name>``: the app module makes them its globals)."""

    def route(op: Operation) -> None:
        """The REST route of ``op``: path ``{id}`` and query in, the JSON answer (errors included) out."""

        def view(**params: str) -> Any:
            request = app.current_request
            with invocation(app.lambda_context):
                query = request.query_params or {}
                status, body = api().answer(op, params.get("id"), request.raw_body, query, params)
            return response(body=body, status_code=status, headers=JSON)

        view.__name__ = view.__qualname__ = f"route_{op.name}"
        app.route(op.path, methods=[op.method], authorizer=authorizer, content_types=content_types)(view)

    def function(op: Operation) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        """The Lambda function ``app.<name>``: the event is the body plus ``partner_id``."""

        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with invocation(context):
                return api().invoke(op.name, event)

        handler.__name__ = handler.__qualname__ = op.name
        return app.lambda_function(name=op.name)(handler)  # type: ignore[no-any-return]

    for op in OPERATIONS:
        route(op)
    return {op.name: function(op) for op in OPERATIONS}
