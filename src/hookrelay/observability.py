"""Logs, metrics and traces, configured once per app.

- Logs: JSON lines (Powertools' formatter on the root logger); modules log through
  ``logging.getLogger(__name__)`` and pass high-cardinality fields with ``extra=``. Inside
  ``with invocation(context):`` (each app's Lambda entry point) every line also carries
  ``aws_request_id`` and ``cold_start`` (true on a function's first invocation in this process). The
  fields live in a context variable, so concurrent invocations in one process (the local runtime) do
  not mix; a thread that should carry them runs in ``contextvars.copy_context()``.
- Metrics: CloudWatch Embedded Metric Format via Powertools' ``EphemeralMetrics`` (no state shared
  between partners running in one process, as they do in the local stack).
- Traces: aws-xray-sdk, patched in only inside Lambda; elsewhere the SDK is switched off, silently.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

_configured: set[str] = set()
_invocation: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "hookrelay_invocation", default=None
)
_warm: set[str] = set()


@contextmanager
def invocation(context: Any) -> Iterator[dict[str, Any]]:
    """Within, every JSON log line carries the Lambda ``context``'s request id and the cold-start flag."""
    function = str(getattr(context, "function_name", "") or "")
    fields = {"aws_request_id": getattr(context, "aws_request_id", None), "cold_start": function not in _warm}
    _warm.add(function)
    token = _invocation.set(fields)
    try:
        yield fields
    finally:
        _invocation.reset(token)


class _InvocationFields(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        fields = _invocation.get()
        if fields:
            for name, value in fields.items():
                setattr(record, name, value)
        return True


def in_lambda() -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ and "HOOKRELAY_LOCAL_RUNTIME" not in os.environ


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON logs on stdout for the whole process; calling it again changes nothing."""
    if "logging" in _configured:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(LambdaPowertoolsFormatter(service=service))
    handler.addFilter(_InvocationFields())
    root = logging.getLogger()
    for existing in list(root.handlers):
        # Lambda's bootstrap handler (plain text) would print every line twice; other handlers
        # (pytest's capture, an operator's own) stay.
        if type(existing) is logging.StreamHandler or type(existing).__name__ == "LambdaLoggerHandler":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "urllib3", "aws_xray_sdk", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured.add("logging")


def configure_tracing(libraries: Iterable[str] = ("botocore", "requests")) -> bool:
    """Patch ``libraries`` for X-Ray inside Lambda; elsewhere switch the SDK off. Returns enabled."""
    from aws_xray_sdk import global_sdk_config

    if not in_lambda() or os.environ.get("AWS_XRAY_SDK_ENABLED", "").lower() == "false":
        global_sdk_config.set_sdk_enabled(False)
        return False
    if "tracing" not in _configured:
        from aws_xray_sdk.core import patch, xray_recorder

        xray_recorder.configure(context_missing="IGNORE_ERROR")
        patch(tuple(libraries))
        _configured.add("tracing")
    return True


def metrics(namespace: str, service: str, **dimensions: str) -> EphemeralMetrics:
    """A fresh EMF metric set; add to it, then ``flush_metrics()`` once."""
    emf = EphemeralMetrics(namespace=namespace, service=service)
    for name, value in dimensions.items():
        emf.add_dimension(name=name, value=value)
    return emf


COUNT = MetricUnit.Count
MILLISECONDS = MetricUnit.Milliseconds


def redact_url(url: str) -> str:
    """A URL fit for logs: the query string and fragment (where tokens hide) are dropped."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable url)"
    redacted = "?(redacted)" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", "")) + redacted
