"""The handler's dependency layer: published once per layer build, shared by every partner function.

A handler build is two zips in the artifact bucket (``resources.artifact``): hookrelay's own code (each
partner function's package, tens of KiB) and its third-party dependencies under ``python/`` (this
layer, a few MiB). :func:`publish_layer` turns the layer zip into a layer version of
``hookrelay-<stage>-handler-deps`` ONCE: the version's Description names the zip's content-addressed
key, so publishing the same zip again finds that version (one ListLayerVersions call) and reuses it.
Never publish per partner: every layer version counts against Lambda's code storage (75 GB per
Region, shared with every function version), and a partner adds none.

Pruning runs after a publish and keeps the versions of the newest ``keep`` builds (a build: one layer
zip, named in the Description) plus any the caller names as in use. Creates that race to publish one new
build (the first partners of a stage, made at once) each publish a version of it; those versions count as
one build and are kept together, so no create's just-published version is pruned under it by another's
(that race failed a first CreateFunction with "LayerVersion does not exist").

Which functions still use a version is not looked up (ListFunctions is one control-plane call
per 50 functions: 200 calls at 10,000 partners); it need not be: AWS keeps a deleted layer version's
copy until no function refers to it, so a partner still on it keeps running. A deleted version only
can no longer be attached: a rollback to its zip publishes it again (the zip stays in S3).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code

if TYPE_CHECKING:
    from types_boto3_lambda.type_defs import LayerVersionsListItemTypeDef

logger = logging.getLogger(__name__)

DEFAULT_KEEP = 3


def layer_description(layer_key: str) -> str:
    """What marks a layer version as the publication of one layer zip (its content-addressed key)."""
    return f"hookrelay handler dependencies {layer_key}"


def layer_versions(name: str, clients: Clients) -> list[LayerVersionsListItemTypeDef]:
    """Every version of the layer, newest first (none when the layer does not exist yet)."""
    try:
        pages = clients.lambda_.get_paginator("list_layer_versions").paginate(LayerName=name)
        found = [v for page in pages for v in page.get("LayerVersions", [])]
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            return []
        raise aws_error(f"list the versions of layer {name}", exc) from exc
    return sorted(found, key=lambda v: v.get("Version", 0), reverse=True)


def publish_layer(name: str, bucket: str, layer_key: str, clients: Clients, keep: int = DEFAULT_KEEP) -> str:
    """The LayerVersionArn holding ``s3://bucket/layer_key``: an existing version of it, else a new one.

    Publishing prunes (:func:`prune_layer_versions`); finding an existing version changes nothing.
    """
    description = layer_description(layer_key)
    versions = layer_versions(name, clients)
    for version in versions:
        if version.get("Description") == description:
            return str(version["LayerVersionArn"])
    try:
        published = clients.lambda_.publish_layer_version(
            LayerName=name,
            Description=description,
            Content={"S3Bucket": bucket, "S3Key": layer_key},
            CompatibleArchitectures=["x86_64"],  # the manylinux x86_64 wheels the build picks
        )
    except AWS_ERRORS as exc:
        doing = f"publish layer {name} from s3://{bucket}/{layer_key}"
        raise aws_error(doing, exc, missing=f"s3://{bucket}/{layer_key} does not exist") from exc
    arn = str(published["LayerVersionArn"])
    logger.info("layer published", extra={"layer": arn, "layer_key": layer_key})
    prune_layer_versions(name, keep, clients, in_use={arn})
    return arn


def prune_layer_versions(name: str, keep: int, clients: Clients, in_use: Collection[str] = ()) -> list[int]:
    """Delete the versions of all but the newest ``keep`` builds, never one in ``in_use``; return the
    versions deleted."""
    deleted: list[int] = []
    builds: list[str] = []  # newest first: a build's rank is that of its newest version
    for version in layer_versions(name, clients):
        build = str(version.get("Description", ""))
        if build not in builds:
            builds.append(build)
        if builds.index(build) < keep or version["LayerVersionArn"] in in_use:
            continue
        number = int(version["Version"])
        try:
            clients.lambda_.delete_layer_version(LayerName=name, VersionNumber=number)
        except AWS_ERRORS as exc:
            raise aws_error(f"delete version {number} of layer {name}", exc) from exc
        deleted.append(number)
    if deleted:
        logger.info("layer versions pruned", extra={"layer": name, "deleted": deleted, "kept": keep})
    return deleted
