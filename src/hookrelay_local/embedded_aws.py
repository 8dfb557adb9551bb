"""The embedded AWS: moto's server on loopback, with one behaviour of moto's switched off.

moto runs SQS event source mappings itself, inside ``SendMessage``: without Docker it "invokes" the
function (the code never runs) and deletes the messages as if they were processed. hookrelay's local
Lambda runtime is the poller, so :func:`keep_moto_from_consuming` leaves the mappings stored (they
are listed, described and updated as on AWS) but never acted on by moto.

Two of moto's Lambda answers are brought to AWS's (every partner's mapping invokes a ``live`` alias
and old versions are pruned): a mapping made on an alias keeps the alias ARN as its ``FunctionArn``
(moto records the version the alias pointed at then, so the local runtime would keep running that
version after the alias moved); and version numbers are never reused (moto numbers a new version
``len(versions) + 1``, so after pruning it would publish a number that already exists).
"""

from __future__ import annotations

import threading
from collections.abc import ItemsView
from typing import Any

_patched = threading.Lock()
_applied = False


class _StoredNotRun(dict[str, Any]):
    """A queue's mapping table that moto's SendMessage iterates over and finds empty."""

    def items(self) -> ItemsView[str, Any]:
        return {}.items()


def keep_moto_from_consuming() -> None:
    """Patch moto (in this process) so event source mappings never consume queue messages."""
    global _applied
    with _patched:
        if _applied:
            return
        from moto.sqs import models

        original_init = models.Queue.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            self.lambda_event_source_mappings = _StoredNotRun()

        models.Queue.__init__ = init  # type: ignore[method-assign]
        _keep_alias_targets()
        _number_versions_like_aws()
        _applied = True


def _keep_alias_targets() -> None:
    from moto.awslambda import models

    original = models.LambdaBackend.create_event_source_mapping

    def create(self: Any, spec: dict[str, Any]) -> Any:
        mapping = original(self, spec)
        qualifier = str(spec.get("FunctionName", "")).split(":function:")[-1].partition(":")[2]
        if qualifier and qualifier != "$LATEST" and not qualifier.isdigit():
            version_arn = str(mapping.function_arn)
            mapping.function_arn = f"{version_arn.rsplit(':', 1)[0]}:{qualifier}"
        return mapping

    models.LambdaBackend.create_event_source_mapping = create  # type: ignore[method-assign]


def start_moto_server(port: int = 0, host: str = "127.0.0.1") -> Any:
    """Start moto's threaded server on loopback; return it (``.stop()``, ``endpoint_url(server)``)."""
    keep_moto_from_consuming()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def endpoint_url(server: Any) -> str:
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def _number_versions_like_aws() -> None:
    import copy

    from moto.awslambda import models

    def publish_version(self: Any, name_or_arn: str, description: str = "") -> Any:
        function = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
        stored = self._functions.get(function.function_name)
        if not stored or not stored["latest"]:
            return None
        published = stored["versions"]
        if published and not function.code_or_config_updated:
            return published[-1]  # nothing changed: AWS answers the newest version
        function.code_or_config_updated = False
        fn = copy.copy(stored["latest"])
        fn.set_version(max((int(v.version) for v in published), default=0) + 1)
        if description:
            fn.description = description
        published.append(fn)
        self._arns[fn.function_arn] = fn
        return fn

    models.LambdaStorage.publish_version = publish_version  # type: ignore[method-assign]
