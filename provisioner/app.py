"""hookrelay provisioner: the REST API and one Lambda function per operation, over the same core."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any

from chalice import Chalice, IAMAuthorizer, Response

from hookrelay.errors import HookrelayError
from hookrelay.observability import configure_logging
from hookrelay.provisioning.api import Answer, Api, error_answer
from hookrelay.provisioning.context import provisioner
from hookrelay.provisioning.openapi import openapi_document

app = Chalice(app_name="hookrelay-provisioner")
IAM = IAMAuthorizer()  # deployed: callers sign with SigV4; chalice local admits every request
# Bodies are parsed as JSON whatever the declared type (curl -d sends form-urlencoded).
BODY = ["application/json", "application/x-www-form-urlencoded", "text/plain"]
logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def api() -> Api:
    ctx = provisioner()
    configure_logging("provisioner", ctx.settings.log_level)
    return Api(ctx)


def answered(route: Callable[..., Answer]) -> Callable[..., Response]:
    """Domain errors become 4xx/503 JSON; anything unexpected a 500 JSON without a stack trace."""

    @wraps(route)
    def run(*args: Any, **kwargs: Any) -> Response:
        try:
            status, body = route(*args, **kwargs)
        except HookrelayError as exc:
            status, body = error_answer(exc)
        except Exception:
            logger.exception("unexpected failure", extra={"path": app.current_request.path})
            status, body = 500, {"error": "internal_error", "message": "unexpected failure; see the logs"}
        return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})

    return run


def raw() -> bytes | None:
    return app.current_request.raw_body  # type: ignore[no-any-return]


@app.route("/openapi.json", methods=["GET"])
def get_openapi() -> dict[str, Any]:
    return openapi_document()


@app.route("/partners", methods=["POST"], authorizer=IAM, content_types=BODY)
@answered
def post_partners() -> Answer:
    return api().create(raw())


@app.route("/partners", methods=["GET"], authorizer=IAM)
@answered
def get_partners() -> Answer:
    return api().list()


@app.route("/partners/{partner_id}", methods=["GET", "PATCH", "DELETE"], authorizer=IAM, content_types=BODY)
@answered
def partner_resource(partner_id: str) -> Answer:
    method = app.current_request.method
    if method == "GET":
        return api().status(partner_id)
    if method == "PATCH":
        return api().update(partner_id, raw())
    return api().delete(partner_id)


@app.route("/partners/{partner_id}/disable", methods=["POST"], authorizer=IAM, content_types=BODY)
@answered
def post_disable(partner_id: str) -> Answer:
    return api().disable(partner_id, raw())


@app.route("/partners/{partner_id}/enable", methods=["POST"], authorizer=IAM)
@answered
def post_enable(partner_id: str) -> Answer:
    return api().enable(partner_id)


@app.route("/partners/{partner_id}/rotate-secret", methods=["POST"], authorizer=IAM)
@answered
def post_rotate_secret(partner_id: str) -> Answer:
    return api().rotate_secret(partner_id)


@app.route("/partners/{partner_id}/events", methods=["POST"], authorizer=IAM, content_types=BODY)
@answered
def post_events(partner_id: str) -> Answer:
    return api().publish(partner_id, raw())


@app.route("/partners/{partner_id}/deliveries", methods=["GET"], authorizer=IAM)
@answered
def get_deliveries(partner_id: str) -> Answer:
    query = app.current_request.query_params or {}
    return api().deliveries(partner_id, query.get("limit"), query.get("cursor"))


@app.route("/update-code", methods=["POST"], authorizer=IAM, content_types=BODY)
@answered
def post_update_code() -> Answer:
    return api().update_code(raw())


# One Lambda function per operation (handler app.<name>); the event is the body plus "partner_id".
def _operation(name: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return api().invoke(name, event)

    handler.__name__ = handler.__qualname__ = name
    return app.lambda_function(name=name)(handler)


create = _operation("create")
delete = _operation("delete")
disable = _operation("disable")
enable = _operation("enable")
update = _operation("update")
rotate_secret = _operation("rotate_secret")
publish = _operation("publish")
status = _operation("status")
deliveries = _operation("deliveries")
update_code = _operation("update_code")
