"""The handler artifact: which code zip and which dependency layer zip a partner function runs.

A handler build is two content-addressed objects in the artifact bucket: ``handler/<sha256>.zip``
(hookrelay's code: ``app.py`` and the core modules it imports; the function's own package) and
``handler/layers/<sha256>.zip`` (its third-party dependencies under ``python/``: the shared layer).
``handler/latest.json`` names the newest pair, ``{"key": ..., "layer_key": ...}``; a copy of it beside
each code zip (``handler/<sha256>.json``) is what a rollback to that code points at. A pointer with
only ``key`` (written before the layer existed) still reads: its zip carries its own dependencies, so
a function moved to it runs with no layer.

Using an artifact is two steps: :func:`prepare` once (publishes the layer if this zip has no version
yet, see ``resources.layer``), then ``function.update_code(name, resolved, clients)`` per function.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, ValidationError

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import DependencyUnavailable
from hookrelay.provisioning.resources.layer import DEFAULT_KEEP, publish_layer


class Artifact(BaseModel):
    """A handler build as stored: the code zip's key and, since the shared layer, the layer zip's."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    code_key: str
    layer_key: str | None = None


class ResolvedArtifact(BaseModel):
    """What a function needs to run a build: its code's S3 location and its layers' ARNs (JSON-able, so
    a rollout can hand it to workers as it is)."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    code_key: str
    layers: tuple[str, ...] = ()


class _Pointer(BaseModel):
    """The JSON of ``latest.json`` and of each code zip's manifest."""

    key: str
    layer_key: str | None = None


def latest_artifact(bucket: str, clients: Clients) -> Artifact:
    """The newest handler build, from ``handler/latest.json``."""
    found = _read_pointer(bucket, naming.HANDLER_ARTIFACT_POINTER, clients)
    if found is None:
        where = f"s3://{bucket}/{naming.HANDLER_ARTIFACT_POINTER}"
        raise DependencyUnavailable(
            f"cannot read the handler artifact pointer {where}: upload the handler first"
        )
    return found


def stored_artifact(bucket: str, code_key: str, clients: Clients) -> Artifact:
    """The build a stored code zip belongs to (its manifest; a zip uploaded without one: no layer)."""
    found = _read_pointer(bucket, naming.handler_manifest_key(code_key), clients)
    return found or Artifact(bucket=bucket, code_key=code_key)


def _read_pointer(bucket: str, key: str, clients: Clients) -> Artifact | None:
    """The build a pointer (``latest.json`` or a manifest) names; None when there is no such object."""
    try:
        body = clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        pointer = _Pointer.model_validate_json(body)
    except AWS_ERRORS as exc:
        if has_code(exc, "NoSuchKey"):
            return None
        raise aws_error(f"read the handler artifact pointer s3://{bucket}/{key}", exc) from exc
    except ValidationError as exc:
        raise DependencyUnavailable(f"{key} has no 'key'") from exc
    return Artifact(bucket=bucket, code_key=pointer.key, layer_key=pointer.layer_key)


def upload_artifact(code: bytes, bucket: str, clients: Clients, layer: bytes | None = None) -> Artifact:
    """Store a handler build (the code zip, and the layer zip when there is one) and point
    ``latest.json`` at it, last: a pointer never names a zip not yet stored."""
    code_key = naming.handler_artifact_key(hashlib.sha256(code).hexdigest())
    layer_key = naming.handler_layer_key(hashlib.sha256(layer).hexdigest()) if layer is not None else None
    pointer = _Pointer(key=code_key, layer_key=layer_key).model_dump_json(exclude_none=True).encode()
    try:
        if layer is not None and layer_key is not None:
            clients.s3.put_object(Bucket=bucket, Key=layer_key, Body=layer)
        clients.s3.put_object(Bucket=bucket, Key=code_key, Body=code)
        clients.s3.put_object(Bucket=bucket, Key=naming.handler_manifest_key(code_key), Body=pointer)
        clients.s3.put_object(Bucket=bucket, Key=naming.HANDLER_ARTIFACT_POINTER, Body=pointer)
    except AWS_ERRORS as exc:
        raise aws_error(f"upload the handler artifact to s3://{bucket}/{code_key}", exc) from exc
    return Artifact(bucket=bucket, code_key=code_key, layer_key=layer_key)


def point_latest_at(artifact: Artifact, clients: Clients) -> None:
    """Make ``artifact`` the newest build (a rollback: its zips are already stored)."""
    pointer = _Pointer(key=artifact.code_key, layer_key=artifact.layer_key)
    body = pointer.model_dump_json(exclude_none=True).encode()
    try:
        clients.s3.put_object(Bucket=artifact.bucket, Key=naming.HANDLER_ARTIFACT_POINTER, Body=body)
    except AWS_ERRORS as exc:
        raise aws_error(f"point the handler artifact at {artifact.code_key}", exc) from exc


def prepare(artifact: Artifact, stage: str, clients: Clients, keep: int = DEFAULT_KEEP) -> ResolvedArtifact:
    """Make ``artifact`` ready for functions: its layer published (once; reused after), resolved to ARNs.

    Call it once per rollout or create, then pass the result to every ``update_code``/``FunctionSpec``.
    """
    layers: tuple[str, ...] = ()
    if artifact.layer_key is not None:
        name = naming.handler_layer(stage)
        layers = (publish_layer(name, artifact.bucket, artifact.layer_key, clients, keep),)
    return ResolvedArtifact(bucket=artifact.bucket, code_key=artifact.code_key, layers=layers)
