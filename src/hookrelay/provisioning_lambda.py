"""A partner's handler Lambda: the artifact it runs, ensure/reconfigure/update code/delete.

The handler code is the ``chalice package`` zip of ``handler/``, uploaded to the artifact bucket under
``handler/<sha256>.zip``; ``handler/latest.json`` (``{"key": ...}``) points at the newest one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from hookrelay import naming
from hookrelay.aws import AWS_ERRORS
from hookrelay.errors import DependencyUnavailable, NotFound
from hookrelay.provisioning_clients import Clients, has_code, removed, unavailable

logger = logging.getLogger(__name__)
HANDLER = "app.deliver"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    role_arn: str
    bucket: str
    code_key: str
    timeout: int
    environment: dict[str, str]
    runtime: str
    memory_mb: int
    tags: dict[str, str]

    def configuration(self) -> dict[str, Any]:
        return {
            "FunctionName": self.name,
            "Role": self.role_arn,
            "Handler": HANDLER,
            "Runtime": self.runtime,
            "Timeout": self.timeout,
            "MemorySize": self.memory_mb,
            "Environment": {"Variables": self.environment},
            "TracingConfig": {"Mode": "Active"},
        }


def latest_artifact(bucket: str, clients: Clients) -> str:
    """The S3 key of the newest handler package, from the pointer object."""
    try:
        body = clients.s3.get_object(Bucket=bucket, Key=naming.HANDLER_ARTIFACT_POINTER)["Body"].read()
        return str(json.loads(body)["key"])
    except AWS_ERRORS as exc:
        where = f"s3://{bucket}/{naming.HANDLER_ARTIFACT_POINTER}"
        raise unavailable(
            f"read the handler artifact pointer {where} (upload the handler first)", exc
        ) from exc
    except (ValueError, KeyError) as exc:
        raise DependencyUnavailable(f"{naming.HANDLER_ARTIFACT_POINTER} has no 'key'") from exc


def describe_function(name: str, clients: Clients) -> dict[str, Any] | None:
    try:
        return dict(clients.lambda_.get_function(FunctionName=name)["Configuration"])
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            return None
        raise unavailable(f"describe function {name}", exc) from exc


def ensure_function(spec: FunctionSpec, clients: Clients, attempts: int = 6) -> str:
    """Create the function, or bring an existing one to this configuration; return its ARN.

    A role made seconds ago may not be assumable yet (IAM propagation): creation is retried with
    backoff on that error only.
    """
    if describe_function(spec.name, clients) is not None:
        return configure_function(spec, clients)
    delay = 1.0
    for attempt in range(1, attempts + 1):
        try:
            created = clients.lambda_.create_function(
                **spec.configuration(),
                Code={"S3Bucket": spec.bucket, "S3Key": spec.code_key},
                Tags=spec.tags,
            )
            return str(created["FunctionArn"])
        except AWS_ERRORS as exc:
            if has_code(exc, "ResourceConflictException"):
                return configure_function(spec, clients)
            if not has_code(exc, "InvalidParameterValueException") or attempt == attempts:
                raise unavailable(f"create function {spec.name}", exc) from exc
            logger.info("role not assumable yet; retrying", extra={"function": spec.name, "attempt": attempt})
            clients.sleep(delay)
            delay = min(delay * 2, 8.0)
    raise AssertionError("unreachable")  # pragma: no cover


def configure_function(spec: FunctionSpec, clients: Clients) -> str:
    try:
        updated = clients.lambda_.update_function_configuration(**spec.configuration())
        clients.lambda_.tag_resource(Resource=updated["FunctionArn"], Tags=spec.tags)
    except AWS_ERRORS as exc:
        raise unavailable(f"configure function {spec.name}", exc) from exc
    return str(updated["FunctionArn"])


def set_concurrency(name: str, reserved: int, clients: Clients) -> None:
    try:
        clients.lambda_.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
    except AWS_ERRORS as exc:
        raise unavailable(f"reserve concurrency for {name}", exc) from exc


def update_code(name: str, bucket: str, key: str, clients: Clients) -> str:
    """Point the function at another artifact; return the new code's SHA-256."""
    try:
        updated = clients.lambda_.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key=key)
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            raise NotFound(f"function {name} does not exist") from exc
        raise unavailable(f"update the code of {name}", exc) from exc
    return str(updated["CodeSha256"])


def delete_function(name: str, clients: Clients) -> bool:
    return removed(
        f"delete function {name}",
        lambda: clients.lambda_.delete_function(FunctionName=name),
        "ResourceNotFoundException",
    )


def reconfigure(name: str, timeout: int, environment: dict[str, str], clients: Clients) -> None:
    """Change only what an update may change: the timeout and the handler's settings."""
    try:
        clients.lambda_.update_function_configuration(
            FunctionName=name, Timeout=timeout, Environment={"Variables": environment}
        )
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            raise NotFound(f"function {name} does not exist: run create again") from exc
        raise unavailable(f"configure function {name}", exc) from exc
