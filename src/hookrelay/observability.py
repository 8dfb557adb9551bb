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
- Traces: aws-xray-sdk, patched in only inside Lambda, and there only once an invocation is sampled;
  elsewhere the SDK is switched off, silently. With active tracing, Lambda's runtime sets the reserved
  ``_X_AMZN_TRACE_ID`` variable before each invocation to the X-Ray tracing header it received
  (``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=557abcec3ee5a047;Sampled=1``; ``Sampled=0`` when
  the sampling rules, by default the first request each second and 5 % of the rest, left this
  invocation out). On an unsampled invocation the SDK records nothing, yet importing it costs a cold
  start a third of its CPU (its module-level recorder, wrapt, botocore's endpoint data). So
  :func:`configure_tracing` only notes the libraries to patch, and the first invocation whose header
  says ``Sampled=1`` (a substring test, per :func:`invocation`) loads the SDK and patches them; they stay
  patched. Both patches are made on classes or modules (botocore's client class, ``http.client``), so
  clients and connection pools made before are traced from then on.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_configured: set[str] = set()
_invocation: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "hookrelay_invocation", default=None
)
_warm: set[str] = set()
_untraced: tuple[str, ...] | None = None  # libraries to patch for X-Ray on the first sampled invocation
_tracing_lock = threading.Lock()
_traced: set[str] = set()
TRACE_HEADER = "_X_AMZN_TRACE_ID"


@contextmanager
def invocation(context: Any) -> Iterator[dict[str, Any]]:
    """Within, every JSON log line carries the Lambda ``context``'s request id and the cold-start flag."""
    function = str(getattr(context, "function_name", "") or "")
    fields = {"aws_request_id": getattr(context, "aws_request_id", None), "cold_start": function not in _warm}
    _warm.add(function)
    if _untraced is not None:
        trace_if_sampled()
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


def configure_tracing(libraries: Iterable[str] = ("botocore", "requests")) -> bool:
    """Trace ``libraries`` with X-Ray inside Lambda; elsewhere switch the SDK off. Returns enabled.

    Inside Lambda the SDK is loaded and ``libraries`` patched on the first sampled invocation (this
    one, if it is sampled; else the first :func:`invocation` that is). ``httplib`` (what urllib3 sends
    with) traces every outgoing HTTP call except botocore's own, which the ``botocore`` patch already
    traces as AWS calls.
    """
    global _untraced
    if not in_lambda() or os.environ.get("AWS_XRAY_SDK_ENABLED", "").lower() == "false":
        from aws_xray_sdk import global_sdk_config

        global_sdk_config.set_sdk_enabled(False)
        return False
    if "tracing" not in _configured and _untraced is None:
        _untraced = tuple(libraries)
    trace_if_sampled()
    return True


def sampled() -> bool:
    """Whether X-Ray samples the current invocation (its tracing header says ``Sampled=1``)."""
    return "Sampled=1" in os.environ.get(TRACE_HEADER, "")


def trace_if_sampled() -> bool:
    """Load the SDK and patch the libraries :func:`configure_tracing` noted, if this invocation is
    sampled and they are not patched yet. Returns whether they are patched.

    A failure to trace never fails the invocation it happens in: it is logged once, and tracing stays
    off for the process (a deployment that cannot load its SDK shows it at its first sampled call).
    """
    global _untraced
    if _untraced is None or not sampled():
        return "tracing" in _configured
    with _tracing_lock:
        if _untraced is not None:
            libraries, _untraced = _untraced, None
            try:
                _patch(libraries)
            except Exception:
                logging.getLogger(__name__).exception(
                    "X-Ray tracing could not be loaded; it stays off", extra={"libraries": list(libraries)}
                )
                return False
            _configured.add("tracing")
    return "tracing" in _configured


def _patch(libraries: tuple[str, ...]) -> None:
    """Patch ``libraries``; ``botocore`` once ``botocore.client`` is imported (now, if it is: its patch
    imports it, ~20 ms of CPU a handler that makes no botocore client need not pay)."""
    from aws_xray_sdk.core import patch, xray_recorder

    xray_recorder.configure(context_missing="IGNORE_ERROR")
    by_the_sdk = tuple(name for name in libraries if name not in ("urllib3", "botocore"))
    if by_the_sdk:
        patch(by_the_sdk)
        _traced.update(by_the_sdk)
    if "httplib" in libraries:
        from aws_xray_sdk.ext.httplib import add_ignored

        add_ignored(subclass="botocore.awsrequest.AWSHTTPConnection")
    if "urllib3" in libraries:
        _patch_urllib3()
        _traced.add("urllib3")
    if "botocore" in libraries:
        import wrapt

        def patch_botocore(client_module: object) -> None:
            # The hook runs as the module's import ends, before the import binds it on its package,
            # where the SDK's patch looks it up: bind it first (the import binds the same module).
            setattr(sys.modules["botocore"], "client", client_module)  # noqa: B010
            patch(("botocore",))
            _traced.add("botocore")

        wrapt.register_post_import_hook(patch_botocore, "botocore.client")


def traced_libraries() -> frozenset[str]:
    """The libraries patched for X-Ray in this process (none until a sampled invocation; botocore once
    ``botocore.client`` is imported)."""
    return frozenset(_traced)


def _patch_urllib3() -> None:
    """Trace each request of a urllib3 pool as a remote subsegment (method, URL without its query,
    status), except botocore's own pools, which the ``botocore`` patch traces as AWS calls.

    The SDK's ``httplib`` patch misses urllib3 2: its connections send without ``http.client``'s
    ``_send_request``, where that patch notes the request. The patch is on the pool class, so pools
    made before are traced too; nothing is added to the request (a partner sees the same POST).
    """
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.models import http
    from urllib3.connectionpool import HTTPConnectionPool

    original = HTTPConnectionPool.urlopen
    if getattr(original, "_hookrelay_traced", False):
        return

    def urlopen(pool: HTTPConnectionPool, *args: Any, **kwargs: Any) -> Any:
        if type(pool).__module__.startswith("botocore."):
            return original(pool, *args, **kwargs)
        try:
            method, host, target = _request_line(pool, *args, **kwargs)
            url = redact_url(f"{pool.scheme}://{host}{target}")
            name = urlsplit(f"//{host}").hostname or host  # as the SDK names a remote call: no port
        except Exception:  # tracing never fails a request it cannot describe
            return original(pool, *args, **kwargs)

        def meta(
            return_value: Any, exception: Exception | None, subsegment: Any, stack: Any, **_: Any
        ) -> None:
            subsegment.put_http_meta(http.METHOD, method)
            subsegment.put_http_meta(http.URL, url)
            if return_value is not None:
                subsegment.put_http_meta(http.STATUS, return_value.status)
            if exception is not None:
                subsegment.add_exception(exception, stack)

        return xray_recorder.record_subsegment(
            original,
            pool,
            (pool, *args),
            kwargs,
            name=name,
            namespace="remote",
            meta_processor=meta,
        )

    urlopen._hookrelay_traced = True  # type: ignore[attr-defined]
    setattr(HTTPConnectionPool, "urlopen", urlopen)  # noqa: B010 - assigning a method


def _request_line(
    pool: Any, method: str, url: str, *_: Any, headers: Any = None, **__: Any
) -> tuple[str, str, str]:
    """(method, host as the request names it, target) of a ``urlopen`` call."""
    host = (headers or {}).get("Host") or str(pool.host)
    return method, host, url


# What every LogRecord carries by itself; any other attribute came in ``extra=`` and is logged.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the fields (and order) of Powertools' default formatter."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        line: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": None,
            "timestamp": f"{stamp},{int(record.msecs):03d}{time.strftime('%z')}",
            "service": self.service,
        }
        line.update((k, v) for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES)
        line["message"] = record.msg if isinstance(record.msg, dict) else record.getMessage()
        if isinstance(record.exc_info, tuple) and record.exc_info[1] is not None:
            line.update(_exception_fields(record, self.formatException(record.exc_info)))
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            line["xray_trace_id"] = trace.split(";")[0].replace("Root=", "")
        return json.dumps(
            {k: v for k, v in line.items() if v is not None}, default=str, separators=(",", ":")
        )


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
