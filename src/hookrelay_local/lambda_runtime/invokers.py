"""How the local runtime runs a function's code: an invoker per Lambda ``Handler`` string.

An invoker is any ``callable(event, function) -> response``, where ``function`` is the
:class:`FunctionConfig` read from the Lambda API. The registry maps a Handler (``app.deliver``) to its
invoker; functions whose Handler has no invoker are left alone (their queues are not polled).

``app.deliver`` is hookrelay's delivery handler: :func:`hookrelay.delivery.batch.handle_batch` with deps
built from the function's environment (as the provisioner wrote it), rebuilt whenever the function's
configuration changes, and AWS clients pointed at the runtime's endpoint.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hookrelay.delivery.batch import handle_batch
from hookrelay.delivery.deps import HandlerDeps, build_deps
from hookrelay.settings import HandlerSettings

DELIVER_HANDLER = "app.deliver"


@dataclass(frozen=True)
class FunctionConfig:
    """The parts of a Lambda function's configuration the runtime honours."""

    name: str
    arn: str
    handler: str
    timeout: float = 3.0
    environment: Mapping[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    revision: str = ""

    @property
    def version(self) -> str:
        """Changes whenever the code or the configuration the handler reads changes."""
        env = json.dumps(dict(self.environment), sort_keys=True)
        return hashlib.sha256(f"{self.revision}\n{env}".encode()).hexdigest()[:16]

    @classmethod
    def from_api(cls, config: Mapping[str, Any], reserved: int | None) -> FunctionConfig:
        """From ``GetFunctionConfiguration`` (and ``GetFunctionConcurrency``) answers."""
        revision = "|".join(str(config.get(k, "")) for k in ("LastModified", "CodeSha256", "RevisionId"))
        return cls(
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            handler=config.get("Handler", ""),
            timeout=float(config.get("Timeout") or 3),
            environment=dict(config.get("Environment", {}).get("Variables", {})),
            reserved_concurrency=reserved,
            revision=revision,
        )


Invoker = Callable[[dict[str, Any], FunctionConfig], Any]


class DeliverInvoker:
    """Runs hookrelay's delivery handler in-process, one set of deps per function version."""

    def __init__(self, sqs: Any, secretsmanager: Any, dynamodb: Any = None) -> None:
        self._sqs = sqs
        self._secretsmanager = secretsmanager
        self._dynamodb = dynamodb  # a paced partner's schedule, on the partners table
        self._lock = threading.Lock()
        self._deps: dict[str, tuple[str, HandlerDeps]] = {}

    def deps_for(self, function: FunctionConfig) -> HandlerDeps:
        with self._lock:
            cached = self._deps.get(function.arn)
            if cached is not None and cached[0] == function.version:
                return cached[1]
            settings = HandlerSettings.from_environment(function.environment)
            deps = build_deps(
                settings, sqs=self._sqs, secretsmanager=self._secretsmanager, dynamodb=self._dynamodb
            )
            self._deps[function.arn] = (function.version, deps)
            return deps

    def __call__(self, event: dict[str, Any], function: FunctionConfig) -> Any:
        return handle_batch(event, self.deps_for(function))


def default_invokers(sqs: Any, secretsmanager: Any, dynamodb: Any = None) -> dict[str, Invoker]:
    return {DELIVER_HANDLER: DeliverInvoker(sqs, secretsmanager, dynamodb)}
