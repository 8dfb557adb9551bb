"""X-Ray traces, inside Lambda only.

aws-xray-sdk, patched in only inside Lambda, and there only once an invocation is sampled; elsewhere
the SDK is switched off, silently. With active tracing, Lambda's runtime sets the reserved
``_X_AMZN_TRACE_ID`` variable before each invocation to the X-Ray tracing header it received
(``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=557abcec3ee5a047;Sampled=1``; ``Sampled=0`` when
the sampling rules, by default the first request each second and 5 % of the rest, left this
invocation out). On an unsampled invocation the SDK records nothing, yet importing it costs a cold
start ~6 ms of CPU (its modules and wrapt's; wrapt is pinned to 1.x: 2.x imports asyncio, ~9 ms more,
docs/handler-cost.md, "Sampled cold start"). So
:func:`configure_tracing` only notes the libraries to patch, and the first invocation whose header
says ``Sampled=1`` (a substring test as each ``observability.invocation`` begins) loads the SDK and
patches them; they stay patched. Both patches are made on classes or modules (botocore's client class,
urllib3's pool class), so clients and connection pools made before are traced from then on.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from hookrelay.observability import in_lambda, on_invocation, redact_url

_untraced: tuple[str, ...] | None = None  # libraries to patch for X-Ray on the first sampled invocation
_tracing_lock = threading.Lock()
_traced: set[str] = set()
_enabled = False
TRACE_HEADER = "_X_AMZN_TRACE_ID"


def configure_tracing(libraries: Iterable[str] = ("botocore", "requests")) -> bool:
    """Trace ``libraries`` with X-Ray inside Lambda; elsewhere switch the SDK off. Returns enabled.

    Inside Lambda the SDK is loaded and ``libraries`` patched on the first sampled invocation (this
    one, if it is sampled; else the first ``observability.invocation`` that is). ``httplib`` (what
    urllib3 sends with) traces every outgoing HTTP call except botocore's own, which the ``botocore``
    patch already traces as AWS calls.
    """
    global _untraced
    if not in_lambda() or os.environ.get("AWS_XRAY_SDK_ENABLED", "").lower() == "false":
        from aws_xray_sdk import global_sdk_config

        global_sdk_config.set_sdk_enabled(False)
        return False
    if not _enabled and _untraced is None:
        _untraced = tuple(libraries)
        on_invocation(trace_if_sampled)
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
    global _untraced, _enabled
    if _untraced is None or not sampled():
        return _enabled
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
            _enabled = True
    return _enabled


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
        import wrapt  # type: ignore[import-untyped]  # 1.17 (pyproject.toml) ships no types

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
