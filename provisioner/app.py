"""hookrelay provisioner: a REST route and a Lambda function per operation (provisioning.wiring), the
console (docs/console.md), the SQS consumers (CONSUMERS), whose mappings report batch item failures, and
the attempt recorder the partners' log groups are subscribed to (record_attempt_lines, docs/results.md)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalice import Chalice, IAMAuthorizer, Response
from chalice.app import SQSEvent

from hookrelay.attempts.log import AttemptLog, record_attempts, record_log_attempts
from hookrelay.attempts.settings import attempts_settings
from hookrelay.observability import configure_logging, invocation
from hookrelay.provisioning.api import Api, framework_errors
from hookrelay.provisioning.console import register_console
from hookrelay.provisioning.consumers import CONSUMERS, Consumer
from hookrelay.provisioning.context import provisioner
from hookrelay.provisioning.health.watch import HealthWatch
from hookrelay.provisioning.message_ops import replay_worker as run_replay_steps
from hookrelay.provisioning.openapi import openapi_document
from hookrelay.provisioning.resources.attempt_filter import RECORDER
from hookrelay.provisioning.rollouts.worker import work as run_rollout_chunk
from hookrelay.provisioning.wiring import register_operations

app = Chalice(app_name="hookrelay-provisioner")
IAM = IAMAuthorizer()  # deployed: callers sign with SigV4; chalice local admits every request
BODY = ["application/json", "application/x-www-form-urlencoded", "text/plain"]  # all parsed as JSON (curl -d)
STAGE = attempts_settings().stage
Work = Callable[[dict[str, Any]], dict[str, Any]]


@lru_cache(maxsize=1)
def api() -> Api:
    ctx = provisioner()
    configure_logging("provisioner", ctx.settings.log_level)
    return Api(ctx)


register_console(app, lambda: api(), Response)  # /console, /portal: no IAM, a login (docs/console.md)


@app.route("/openapi.json", methods=["GET"])
def get_openapi() -> dict[str, Any]:
    return openapi_document()


app.register_middleware(framework_errors, "http")  # chalice's own 405/415 answers in our error shape


globals().update(register_operations(app, lambda: api(), Response, IAM, BODY))  # app.<name> per operation


@lru_cache(maxsize=1)
def attempt_log() -> AttemptLog:
    settings = attempts_settings()
    configure_logging("results", settings.log_level)
    return AttemptLog(stage=settings.stage, ttl_days=settings.deliveries_ttl_days)


def record(event: dict[str, Any]) -> dict[str, Any]:
    """Attempt records into the attempt log, then partner health (docs/partner-health.md)."""
    return record_attempts(event, attempt_log(), HealthWatch(provisioner()).observe)


@app.lambda_function(name=RECORDER)
def record_attempt_lines(event: dict[str, Any], context: Any) -> dict[str, int]:
    """The marked lines of a partner's log group (a CloudWatch Logs subscription invokes it
    asynchronously): their attempt records into the attempt log, then partner health. It raises when a
    write failed, so Lambda retries the event and then keeps it in the results DLQ (its on-failure
    destination). The results queue's consumer (record_results) stays for handlers still publishing."""
    with invocation(context):
        return {"recorded": record_log_attempts(event, attempt_log(), HealthWatch(provisioner()).observe)}


def _consumer(consumer: Consumer, work: Work) -> Callable[..., Any]:
    """The SQS consumer ``app.<name>``: a batch to the core's ``work``, its batch item failures back."""

    def handler(event: SQSEvent) -> dict[str, Any]:
        with invocation(event.context):
            return work(event.to_dict())

    handler.__name__ = handler.__qualname__ = consumer.name
    mapping = {"batch_size": consumer.batch_size, "maximum_concurrency": consumer.maximum_concurrency}
    return app.on_sqs_message(queue=consumer.queue(STAGE), **mapping)(handler)


WORK: dict[str, Work] = {  # each consumer's work in the core (hookrelay.provisioning.consumers says the rest)
    "record_results": record,
    "rollout_worker": lambda e: run_rollout_chunk(e, api().ctx),
    "replay_worker": lambda e: run_replay_steps(e, api().ctx),
    "route_events": lambda e: api().ctx.router.route(e),
    "route_ordered_events": lambda e: api().ctx.router.route(e),
}
for _c in CONSUMERS:
    globals()[_c.name] = _consumer(_c, WORK[_c.name])
