"""hookrelay provisioner: the REST API and a Lambda function per operation (a loop over OPERATIONS), the
results recorder (results queue -> attempt log, then partner health) and the rollout worker (update-code's
chunks, one per call, two at most). Both SQS mappings report batch item failures (merge template).
The events router: the stage's events queue fanned out to every subscribed partner queue (docs/events.md)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalice import Chalice, IAMAuthorizer, Response
from chalice.app import Request, SQSEvent

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog, record_attempts
from hookrelay.attempts.settings import attempts_settings
from hookrelay.observability import configure_logging, invocation
from hookrelay.provisioning.api import Api, framework_answer
from hookrelay.provisioning.console import register_console
from hookrelay.provisioning.context import provisioner
from hookrelay.provisioning.health.watch import HealthWatch
from hookrelay.provisioning.message_ops import replay_worker as run_replay_steps
from hookrelay.provisioning.openapi import openapi_document
from hookrelay.provisioning.operations import OPERATIONS, Operation
from hookrelay.provisioning.rollouts.worker import work

app = Chalice(app_name="hookrelay-provisioner")
IAM = IAMAuthorizer()  # deployed: callers sign with SigV4; chalice local admits every request
BODY = ["application/json", "application/x-www-form-urlencoded", "text/plain"]  # all parsed as JSON (curl -d)
STAGE = attempts_settings().stage


@lru_cache(maxsize=1)
def api() -> Api:
    ctx = provisioner()
    configure_logging("provisioner", ctx.settings.log_level)
    return Api(ctx)


register_console(app, lambda: api(), Response)  # /console, /portal: no IAM, a login (docs/console.md)


@app.route("/openapi.json", methods=["GET"])
def get_openapi() -> dict[str, Any]:
    return openapi_document()


@app.middleware("http")
def our_error_shape(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice's own 405 (unknown method) and 415 (unknown body type) answers in our error shape."""
    response = get_response(request)
    allow = response.headers.get("Allow")
    hint = f"allowed: {allow}" if allow else "send application/json"
    body = framework_answer(response.status_code, response.body, hint)
    if body is not None:
        response.body, response.headers["Content-Type"] = body, "application/json"
    return response


def _route(op: Operation) -> Callable[..., Response]:
    """The REST route of ``op``: path ``{id}`` and query in, the JSON answer (errors included) out."""

    def view(**params: str) -> Response:
        request = app.current_request
        with invocation(app.lambda_context):
            query = request.query_params or {}
            status, body = api().answer(op, params.get("id"), request.raw_body, query, params)
        return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})

    view.__name__ = view.__qualname__ = f"route_{op.name}"
    return app.route(op.path, methods=[op.method], authorizer=IAM, content_types=BODY)(view)


def _function(op: Operation) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda function ``app.<name>``: the event is the body plus ``partner_id``."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with invocation(context):
            return api().invoke(op.name, event)

    handler.__name__ = handler.__qualname__ = op.name
    return app.lambda_function(name=op.name)(handler)


for _op in OPERATIONS:
    _route(_op)
    globals()[_op.name] = _function(_op)  # Lambda's handler setting is app.<name>


@lru_cache(maxsize=1)
def attempt_log() -> AttemptLog:
    settings = attempts_settings()
    configure_logging("results", settings.log_level)
    return AttemptLog(stage=settings.stage, ttl_days=settings.deliveries_ttl_days)


@app.on_sqs_message(queue=naming.results_queue(STAGE), batch_size=10)
def record_results(event: SQSEvent) -> dict[str, Any]:
    with invocation(event.context):
        return record_attempts(event.to_dict(), attempt_log(), HealthWatch(provisioner()).observe)


@app.on_sqs_message(queue=naming.rollout_queue(STAGE), batch_size=1, maximum_concurrency=2)
def rollout_worker(event: SQSEvent) -> dict[str, Any]:
    with invocation(event.context):
        return work(event.to_dict(), api().ctx)


@app.on_sqs_message(queue=naming.replay_queue(STAGE), batch_size=1, maximum_concurrency=2)
def replay_worker(event: SQSEvent) -> dict[str, Any]:
    """Replay steps: a chunk of kept webhooks back onto a partner queue per call, the next step delayed."""
    with invocation(event.context):
        return run_replay_steps(event.to_dict(), api().ctx)


@app.on_sqs_message(queue=naming.events_queue(STAGE), batch_size=10)
def route_events(event: SQSEvent) -> dict[str, Any]:
    """The events router: each event fanned out to every subscribed partner queue (docs/events.md)."""
    with invocation(event.context):
        return api().ctx.router.route(event.to_dict())
