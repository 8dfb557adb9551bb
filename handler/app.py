"""hookrelay handler: one partner's delivery Lambda.

The provisioner creates one function per partner from this app's package, with handler
``app.deliver`` and an SQS event source mapping (batch size 10, ReportBatchItemFailures on).
Each attempt's record is its JSON log line (marked ``"record": "attempt"``), which a CloudWatch Logs
subscription on the function's log group hands to the stage-wide recorder in the provisioner app
(:func:`hookrelay.attempts.log.record_log_attempts`): a partner's Lambda carries the delivery path only
and sends its records nowhere.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice import Chalice

from hookrelay.delivery.batch import handle_batch
from hookrelay.delivery.deps import HandlerDeps, build_deps
from hookrelay.observability import configure_logging, invocation
from hookrelay.settings import handler_settings
from hookrelay.tracing import configure_tracing

app = Chalice(app_name="hookrelay-handler")


@lru_cache(maxsize=1)
def deps() -> HandlerDeps:
    """Built on the first invocation, reused while the container lives."""
    settings = handler_settings()
    configure_logging("handler", settings.log_level)
    configure_tracing(("botocore", "urllib3"))  # loaded on the first sampled invocation
    return build_deps(settings)


@app.lambda_function(name="deliver")
def deliver(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with invocation(context):
        return handle_batch(event, deps())
