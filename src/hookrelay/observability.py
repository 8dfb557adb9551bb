"""Logs, metrics and traces, configured once per app.

- Logs: JSON lines (:class:`JsonFormatter` on the root logger: Powertools' default fields, ``level``,
  ``location``, ``message``, ``timestamp``, ``service``, the ``extra=`` fields, ``exception``,
  ``exception_name``, ``stack_trace``, ``xray_trace_id``, in a tenth of its CPU); modules log through
  ``logging.getLogger(__name__)`` and pass high-cardinality fields with ``extra=``. Inside
  ``with invocation(context):`` (each app's Lambda entry point) every line also carries
  ``aws_request_id`` and ``cold_start`` (true on a function's first invocation in this process). The
  fields live in a context variable, so concurrent invocations in one process (the local runtime) do
  not mix; a thread that should carry them runs in ``contextvars.copy_context()``.
- Metrics: CloudWatch Embedded Metric Format, one document per :func:`metrics` set (no state shared
  between partners running in one process, as they do in the local stack); the documents Powertools'
  ``EphemeralMetrics`` printed, ``POWERTOOLS_METRICS_DISABLED=true`` still silencing them.
- Traces: :mod:`hookrelay.tracing` (X-Ray inside Lambda, loaded on the first sampled invocation), which
  hooks itself into :func:`invocation` with :func:`on_invocation`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_configured: set[str] = set()
_invocation: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "hookrelay_invocation", default=None
)
_warm: set[str] = set()
_on_invocation: list[Callable[[], object]] = []  # called as each invocation begins (tracing's check)


@contextmanager
def invocation(context: Any) -> Iterator[dict[str, Any]]:
    """Within, every JSON log line carries the Lambda ``context``'s request id and the cold-start flag."""
    function = str(getattr(context, "function_name", "") or "")
    fields = {"aws_request_id": getattr(context, "aws_request_id", None), "cold_start": function not in _warm}
    _warm.add(function)
    for call in _on_invocation:
        call()
    token = _invocation.set(fields)
    try:
        yield fields
    finally:
        _invocation.reset(token)


def on_invocation(call: Callable[[], object]) -> None:
    """Have ``call`` run as each :func:`invocation` begins (once, however often it is registered)."""
    if call not in _on_invocation:
        _on_invocation.append(call)


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
    handler.setFormatter(JsonFormatter(service))
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


# What every LogRecord carries by itself; any other attribute came in ``extra=`` and is logged.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the fields (and order) of Powertools' default formatter.

    It runs once per delivery attempt, so it does the least it can: one JSON encoder made once, the
    timestamp's second (and zone) formatted once per second, one pass over the record's attributes.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self._encode = json.JSONEncoder(default=str, separators=(",", ":")).encode
        self._second: tuple[int, str, str] = (-1, "", "")

    def format(self, record: logging.LogRecord) -> str:
        second, stamp, zone = self._second
        if int(record.created) != second:
            local = time.localtime(int(record.created))
            stamp, zone = time.strftime("%Y-%m-%d %H:%M:%S", local), time.strftime("%z", local)
            self._second = second, stamp, zone = int(record.created), stamp, zone
        line: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": None,
            "timestamp": f"{stamp},{int(record.msecs):03d}{zone}",
            "service": self.service,
        }
        empty = False  # a None anywhere: fields that are None are left out
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES:
                line[name] = value
                empty = empty or value is None
        line["message"] = record.msg if isinstance(record.msg, dict) else record.getMessage()
        if isinstance(record.exc_info, tuple) and record.exc_info[1] is not None:
            line.update(_exception_fields(record, self.formatException(record.exc_info)))
            empty = True
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            line["xray_trace_id"] = trace.split(";")[0].replace("Root=", "")
        return self._encode({k: v for k, v in line.items() if v is not None} if empty else line)


def _exception_fields(record: logging.LogRecord, formatted: str) -> dict[str, Any]:
    kind, error, tb = record.exc_info or (None, None, None)
    name = getattr(kind, "__name__", None)
    return {
        "exception": formatted,
        "exception_name": name,
        "exception_notes": getattr(error, "__notes__", None),
        "stack_trace": {
            "type": name,
            "value": error,
            "module": type(error).__module__,
            "frames": [
                {"file": f.filename, "line": f.lineno, "function": f.name, "statement": f.line}
                for f in traceback.extract_tb(tb)
            ],
        },
    }


COUNT = "Count"
MILLISECONDS = "Milliseconds"


class Metrics:
    """One CloudWatch Embedded Metric Format document: add metrics, then ``flush_metrics()`` once.

    A metric added several times keeps every value (CloudWatch takes up to 100 per metric; a batch of
    ten records stays far under it). ``service`` is a dimension, as Powertools made it.
    """

    def __init__(self, namespace: str, service: str) -> None:
        self.namespace = namespace
        self.dimensions: dict[str, str] = {"service": service}
        self.values: dict[str, list[float]] = {}
        self.units: dict[str, str] = {}

    def add_dimension(self, name: str, value: str) -> None:
        self.dimensions[name] = value

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.units[name] = unit
        self.values.setdefault(name, []).append(value)

    def document(self, now: float | None = None) -> dict[str, Any]:
        """The EMF document: the ``_aws`` metadata, then the dimensions' and metrics' values."""
        stamp = int((time.time() if now is None else now) * 1000)
        definition = {
            "Namespace": self.namespace,
            "Dimensions": [list(self.dimensions)],
            "Metrics": [{"Name": name, "Unit": self.units[name]} for name in self.values],
        }
        values = {name: v[0] if len(v) == 1 else v for name, v in self.values.items()}
        return {"_aws": {"Timestamp": stamp, "CloudWatchMetrics": [definition]}, **self.dimensions, **values}

    def flush_metrics(self) -> None:
        """Print the document on stdout (where CloudWatch Logs picks it up), unless metrics are off."""
        if self.values and os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() not in ("true", "1"):
            sys.stdout.write(json.dumps(self.document(), separators=(",", ":")) + "\n")
        self.values.clear()


def metrics(namespace: str, service: str, **dimensions: str) -> Metrics:
    """A fresh EMF metric set; add to it, then ``flush_metrics()`` once."""
    emf = Metrics(namespace, service)
    for name, value in dimensions.items():
        emf.add_dimension(name=name, value=value)
    return emf


def redact_url(url: str) -> str:
    """A URL fit for logs: the query string and fragment (where tokens hide) are dropped."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable url)"
    redacted = "?(redacted)" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", "")) + redacted
