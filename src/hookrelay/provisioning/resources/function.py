"""A partner's handler Lambda: ensure/reconfigure/update code/delete.

It runs a handler build (``resources.artifact``): its own package is hookrelay's code only, and the
handler's third-party dependencies come from the stage's shared layer (``resources.layer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import WaiterError

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import DependencyUnavailable, NotFound
from hookrelay.provisioning.resources.artifact import ResolvedArtifact
from hookrelay.provisioning.resources.calls import removed, while_propagating

if TYPE_CHECKING:
    from types_boto3_lambda.type_defs import FunctionCodeTypeDef

HANDLER = "app.deliver"
# The stub types get_waiter per name: the two waits a change needs.
Waiter = Literal["function_active_v2", "function_updated_v2"]


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
    layers: tuple[str, ...] = ()  # LayerVersionArns: the shared dependency layer

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
            "Layers": list(self.layers),
            # plain text lines (the default): the handler's JSON lines reach the log group as written, so
            # the attempt-lines subscription filter's { $.record = "attempt" } reads their fields
            "LoggingConfig": {"LogFormat": "Text"},
        }


def describe_function(name: str, clients: Clients) -> dict[str, Any] | None:
    try:
        return dict(clients.lambda_.get_function(FunctionName=name)["Configuration"])
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            return None
        raise aws_error(f"describe function {name}", exc) from exc


def ensure_function(spec: FunctionSpec, clients: Clients, attempts: int = 6) -> str:
    """Create the function, or bring an existing one to this configuration; return its ARN.

    A role made seconds ago may not be assumable yet: creation is retried while it propagates.
    """
    if describe_function(spec.name, clients) is not None:
        return configure_function(spec, clients)
    code: FunctionCodeTypeDef = {"S3Bucket": spec.bucket, "S3Key": spec.code_key}
    try:
        created = while_propagating(
            f"create function {spec.name}",
            lambda: clients.lambda_.create_function(**spec.configuration(), Code=code, Tags=spec.tags),
            clients,
            attempts,
        )
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceConflictException"):  # made by a concurrent create
            return configure_function(spec, clients)
        raise aws_error(f"create function {spec.name}", exc) from exc
    wait_until_ready(spec.name, clients, "function_active_v2")
    return str(created["FunctionArn"])


def wait_until_ready(name: str, clients: Clients, waiter: Waiter = "function_updated_v2") -> None:
    """Lambda refuses changes while a function is Pending or an update is in progress: wait it out."""
    try:
        clients.lambda_.get_waiter(waiter).wait(
            FunctionName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
        )
    except WaiterError as exc:
        code = (exc.last_response or {}).get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":
            raise NotFound(f"function {name} does not exist") from exc
        raise DependencyUnavailable(f"function {name} did not become ready: {code or exc}") from exc
    except AWS_ERRORS as exc:
        raise aws_error(f"wait for function {name} to be ready", exc) from exc


def configure_function(spec: FunctionSpec, clients: Clients) -> str:
    wait_until_ready(spec.name, clients)
    try:
        updated = clients.lambda_.update_function_configuration(**spec.configuration())
        clients.lambda_.tag_resource(Resource=updated["FunctionArn"], Tags=spec.tags)
    except AWS_ERRORS as exc:
        raise aws_error(f"configure function {spec.name}", exc) from exc
    wait_until_ready(spec.name, clients)
    return str(updated["FunctionArn"])


def set_concurrency(name: str, reserved: int | None, clients: Clients) -> None:
    """Reserve ``reserved`` instances for the function, or (None) release its reservation."""
    try:
        if reserved is None:
            clients.lambda_.delete_function_concurrency(FunctionName=name)
        else:
            clients.lambda_.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
    except AWS_ERRORS as exc:
        doing = "release" if reserved is None else "reserve"
        raise aws_error(f"{doing} concurrency for {name}", exc) from exc


def update_code(name: str, target: ResolvedArtifact, clients: Clients) -> str:
    """Move the function to another build: its layers, then its code; return the new code's SHA-256.

    Layers first: the old code with the new layer still runs (a pre-layer zip carries its own
    dependencies, which win on the path), the new code without its layer would not. The configuration
    call is skipped when the layers are already these (one control-plane call saved per partner).
    """
    wait_until_ready(name, clients)
    current = describe_function(name, clients)
    if current is None:
        raise NotFound(f"function {name} does not exist")
    if [layer["Arn"] for layer in current.get("Layers", [])] != list(target.layers):
        try:
            clients.lambda_.update_function_configuration(FunctionName=name, Layers=list(target.layers))
        except AWS_ERRORS as exc:
            missing = f"function {name} does not exist"
            raise aws_error(f"set the layers of {name}", exc, missing=missing) from exc
        wait_until_ready(name, clients)
    try:
        updated = clients.lambda_.update_function_code(
            FunctionName=name, S3Bucket=target.bucket, S3Key=target.code_key
        )
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            raise NotFound(f"function {name} does not exist") from exc
        raise aws_error(f"update the code of {name}", exc) from exc
    return str(updated["CodeSha256"])


def delete_function(name: str, clients: Clients) -> bool:
    return removed(
        f"delete function {name}",
        lambda: clients.lambda_.delete_function(FunctionName=name),
        "ResourceNotFoundException",
    )


def reconfigure(name: str, timeout: int, environment: dict[str, str], clients: Clients) -> None:
    """Change only what an update may change: the timeout and the handler's settings."""
    wait_until_ready(name, clients)
    try:
        clients.lambda_.update_function_configuration(
            FunctionName=name, Timeout=timeout, Environment={"Variables": environment}
        )
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            raise NotFound(f"function {name} does not exist: run create again") from exc
        raise aws_error(f"configure function {name}", exc) from exc
