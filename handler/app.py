"""hookrelay handler: one partner's delivery Lambda.

The provisioner creates one function per partner from this app's package, with handler
``app.deliver`` and an SQS event source mapping (batch size 10, ReportBatchItemFailures on).
``record_results`` (deployed once per stage) writes the shared results queue into the attempt log.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice import Chalice
from chalice.app import SQSEvent

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog, record_attempts
from hookrelay.delivery.batch import handle_batch
from hookrelay.delivery.deps import HandlerDeps, build_deps
from hookrelay.observability import configure_logging, configure_tracing, invocation
from hookrelay.provisioning.settings import provisioner_settings
from hookrelay.settings import handler_settings

app = Chalice(app_name="hookrelay-handler")


@lru_cache(maxsize=1)
def deps() -> HandlerDeps:
    """Built on the first invocation, reused while the container lives."""
    settings = handler_settings()
    configure_logging("handler", settings.log_level)
    configure_tracing()
    return build_deps(settings)


@app.lambda_function(name="deliver")
def deliver(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with invocation(context):
        return handle_batch(event, deps())


@lru_cache(maxsize=1)
def attempt_log() -> AttemptLog:
    settings = provisioner_settings()
    configure_logging("results", settings.log_level)
    return AttemptLog(stage=settings.stage, ttl_days=settings.deliveries_ttl_days)


@app.on_sqs_message(queue=naming.results_queue(provisioner_settings().stage), batch_size=10)
def record_results(event: SQSEvent) -> dict[str, Any]:
    # Chalice's mapping has no ReportBatchItemFailures: a failed write must fail the whole batch.
    return record_attempts(event.to_dict(), attempt_log(), all_or_nothing=True)
