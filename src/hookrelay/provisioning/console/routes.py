"""The console's routes on the provisioner's Chalice app: one call, ``register_console(app, api, Response)``.

The core never imports Chalice: the app and its ``Response`` class come in as arguments. These routes
have no IAM authorizer (a browser cannot sign SigV4): the console checks its own session cookie and the
portal its signed token (:mod:`hookrelay.provisioning.console.web`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from hookrelay.provisioning.api import Api
from hookrelay.provisioning.console.web import Console
from hookrelay.provisioning.console.wire import WebRequest

FORM = ["application/x-www-form-urlencoded"]
# (path, methods, handler name of Console.handle)
ROUTES: tuple[tuple[str, list[str], str], ...] = (
    ("/console", ["GET"], "fleet"),
    ("/console/login", ["GET"], "login"),
    ("/console/login", ["POST"], "login"),  # a route of its own: only POST takes a form body
    ("/console/logout", ["POST"], "logout"),
    ("/console/partners/{id}", ["GET"], "partner"),
    ("/console/partners/{id}/{action}", ["POST"], "action"),
    ("/console/partners/{id}/webhooks/{webhook_id}", ["GET"], "webhook"),
    ("/console/partners/{id}/webhooks/{webhook_id}/resend", ["POST"], "resend"),
    ("/console/partners/{id}/replays/{replay_id}", ["GET"], "replay_state"),
    ("/console/static/{name}", ["GET"], "static"),
    ("/portal", ["GET"], "portal"),
    ("/portal/{action}", ["POST"], "portal_action"),
)


class Router(Protocol):
    current_request: Any

    def route(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]: ...


def base_path(context: dict[str, Any], resource: str, params: dict[str, str]) -> str:
    """What the API is mounted under: the request's full path (API Gateway puts its stage, "/api", in
    front) minus the route's own path with its parameters filled in. Empty locally."""
    own = resource
    for name, value in params.items():
        own = own.replace("{" + name + "}", value)
    full = str(context.get("path") or own)
    return full[: -len(own)] if own and full.endswith(own) else ""


def web_request(request: Any, resource: str, params: dict[str, str]) -> WebRequest:
    headers = {str(k).lower(): str(v) for k, v in (request.headers or {}).items()}
    return WebRequest(
        method=request.method,
        path_params=params,
        query=dict(request.query_params or {}),
        headers=headers,
        body=request.raw_body or b"",
        base=base_path(request.context or {}, resource, params),
        https=headers.get("x-forwarded-proto", "").lower() == "https",
    )


def register_console(app: Router, api: Callable[[], Api], response: Callable[..., Any]) -> Console:
    """Add the console's and the portal's routes to ``app``; returns the :class:`Console` they call."""
    console = Console(api)

    def add(path: str, methods: list[str], name: str) -> None:
        def view(**params: str) -> Any:
            reply = console.handle(name, web_request(app.current_request, path, params))
            return response(body=reply.body, status_code=reply.status, headers=reply.headers)

        view.__name__ = view.__qualname__ = f"console_{name}_{methods[0].lower()}"
        content_types = FORM if "POST" in methods else None
        app.route(path, methods=methods, **({"content_types": content_types} if content_types else {}))(view)

    for path, methods, name in ROUTES:
        add(path, methods, name)
    return console
