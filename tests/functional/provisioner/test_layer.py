"""The handler's dependency layer: published once per build, reused, pruned; functions run code + layer;
a rollout to a new layer paces each of its calls."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from typing import Any

from hookrelay import naming
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.resources.artifact import (
    Artifact,
    latest_artifact,
    prepare,
    stored_artifact,
    upload_artifact,
)
from hookrelay.provisioning.resources.function import update_code
from hookrelay.provisioning.resources.layer import (
    layer_description,
    layer_versions,
    prune_layer_versions,
    publish_layer,
)
from hookrelay.provisioning.rollouts.model import Outcome
from hookrelay.provisioning.rollouts.pace import Pace, paced_clients
from hookrelay.provisioning.rollouts.worker import roll_partner

from .conftest import STAGE, aws

LAYER = naming.handler_layer(STAGE)


def zipped(name: str, content: str) -> bytes:
    """A zip of one file, the same bytes for the same content (a fixed timestamp, as the build writes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
    return buffer.getvalue()


def upload_build(ctx: Provisioner, code: str, deps: str) -> Artifact:
    """A handler build: a code zip and a layer zip (its file under python/), the newest."""
    return upload_artifact(
        zipped("app.py", code), ctx.settings.bucket, ctx.clients, layer=zipped("python/deps.py", deps)
    )


def publish_builds(ctx: Provisioner, count: int, keep: int) -> list[str]:
    """Upload ``count`` builds with different dependencies, publishing each one's layer; their ARNs."""
    arns = []
    for n in range(1, count + 1):
        build = upload_build(ctx, f"code = {n}", f"deps = {n}")
        assert build.layer_key is not None
        arns.append(publish_layer(LAYER, ctx.settings.bucket, build.layer_key, ctx.clients, keep=keep))
    return arns


class Counting:
    """A Lambda client that counts the calls made through it, by method name."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, dict[str, int]()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)
        if name.startswith(("get_paginator", "get_waiter")):
            return method

        def call(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(**kwargs)

        return call


def test_publishing_the_same_layer_zip_twice_reuses_its_version(ctx: Provisioner) -> None:
    # GIVEN a build uploaded WHEN its layer is published twice
    build = upload_build(ctx, "one = 1", "deps = 1")
    assert build.layer_key is not None
    first = publish_layer(LAYER, ctx.settings.bucket, build.layer_key, ctx.clients)
    counting = Counting(aws("lambda"))
    ctx.clients.overrides["lambda"] = counting
    second = publish_layer(LAYER, ctx.settings.bucket, build.layer_key, ctx.clients)
    # THEN the second finds the first's version, publishing nothing: one layer version in all
    assert second == first
    assert first.endswith(f":layer:{LAYER}:1")
    assert "publish_layer_version" not in counting.calls
    assert [v["Version"] for v in layer_versions(LAYER, ctx.clients)] == [1]


def test_publishing_a_new_build_prunes_to_the_newest_versions_kept(ctx: Provisioner) -> None:
    # GIVEN five builds with different dependencies, each layer published with keep=3
    arns = publish_builds(ctx, 5, keep=3)
    # THEN only the newest three versions are left, newest first
    assert [v["Version"] for v in layer_versions(LAYER, ctx.clients)] == [5, 4, 3]
    assert [v["LayerVersionArn"] for v in layer_versions(LAYER, ctx.clients)] == arns[:1:-1]


def test_pruning_never_deletes_a_version_named_in_use(ctx: Provisioner) -> None:
    # GIVEN four versions, the oldest still in use
    arns = publish_builds(ctx, 4, keep=4)
    # WHEN pruned to the newest two, version 1 named as in use
    deleted = prune_layer_versions(LAYER, 2, ctx.clients, in_use={arns[0]})
    # THEN version 2 alone went
    assert deleted == [2]
    assert [v["Version"] for v in layer_versions(LAYER, ctx.clients)] == [4, 3, 1]


def test_the_pointer_names_both_zips_and_a_key_only_pointer_still_reads(ctx: Provisioner) -> None:
    # GIVEN a layered build uploaded
    build = upload_build(ctx, "code = 1", "deps = 1")
    pointer = aws("s3").get_object(Bucket=ctx.settings.bucket, Key=naming.HANDLER_ARTIFACT_POINTER)
    # THEN latest.json names both, content-addressed, and the code zip's manifest says the same
    assert json.loads(pointer["Body"].read()) == {"key": build.code_key, "layer_key": build.layer_key}
    assert build.layer_key is not None
    assert build.layer_key.startswith("handler/layers/")
    assert latest_artifact(ctx.settings.bucket, ctx.clients) == build
    assert stored_artifact(ctx.settings.bucket, build.code_key, ctx.clients) == build
    # WHEN a pointer from before the layer (only "key") is read
    old = {"key": "handler/" + "a" * 64 + ".zip"}
    aws("s3").put_object(
        Bucket=ctx.settings.bucket, Key=naming.HANDLER_ARTIFACT_POINTER, Body=json.dumps(old).encode()
    )
    latest = latest_artifact(ctx.settings.bucket, ctx.clients)
    # THEN it is a build with no layer, and a function moved to it gets none
    assert latest == Artifact(bucket=ctx.settings.bucket, code_key=old["key"])
    assert prepare(latest, STAGE, ctx.clients).layers == ()


def test_create_attaches_the_published_layer_to_the_partner_function(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a layered build WHEN two partners are created
    build = upload_build(ctx, "code = 1", "deps = 1")
    make_partner("alpha")
    make_partner("beta")
    # THEN both run its code with the one layer version, published once
    [version] = layer_versions(LAYER, ctx.clients)
    for partner_id in ("alpha", "beta"):
        config = aws("lambda").get_function(FunctionName=naming.partner_function(STAGE, partner_id))
        assert [layer["Arn"] for layer in config["Configuration"]["Layers"]] == [version["LayerVersionArn"]]
        assert ctx.partners.get(partner_id).code_key == build.code_key


def test_update_code_moves_the_layer_then_the_code_and_skips_an_unchanged_layer(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a partner created on build 1, then build 2 (new code, new dependencies) resolved once
    upload_build(ctx, "code = 1", "deps = 1")
    make_partner("alpha")
    function = naming.partner_function(STAGE, "alpha")
    before = aws("lambda").get_function(FunctionName=function)["Configuration"]
    upload_build(ctx, "code = 2", "deps = 2")
    target = prepare(latest_artifact(ctx.settings.bucket, ctx.clients), STAGE, ctx.clients)
    # WHEN the function moves to it
    sha = update_code(function, target, ctx.clients)
    # THEN it runs build 2's code with build 2's layer
    after = aws("lambda").get_function(FunctionName=function)["Configuration"]
    assert [layer["Arn"] for layer in after["Layers"]] == list(target.layers)
    assert target.layers != tuple(layer["Arn"] for layer in before["Layers"])
    assert after["CodeSha256"] == sha != before["CodeSha256"]
    # WHEN build 3 changes only the code (same dependencies: the same layer zip, the same version)
    counting = Counting(aws("lambda"))
    ctx.clients.overrides["lambda"] = counting
    build = upload_build(ctx, "code = 3", "deps = 2")
    same_layer = prepare(latest_artifact(ctx.settings.bucket, ctx.clients), STAGE, ctx.clients)
    update_code(function, same_layer, ctx.clients)
    # THEN no layer was published and the configuration was left alone: one code update, nothing else
    assert same_layer.layers == target.layers
    assert same_layer.code_key == build.code_key
    assert "publish_layer_version" not in counting.calls
    assert "update_function_configuration" not in counting.calls
    assert counting.calls["update_function_code"] == 1


class Turns(Pace):
    """A pace that keeps no time: it writes down each turn taken, in one list with the calls made."""

    def __init__(self, events: list[str]) -> None:
        super().__init__(per_second=1.0)
        self.events = events

    def wait(self) -> None:
        self.events.append("turn")


class Recording:
    """A Lambda client that writes each call's method name into ``events`` (waiters pass through)."""

    def __init__(self, real: Any, events: list[str]) -> None:
        self.real, self.events = real, events

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)
        if name == "get_waiter":
            return method

        def call(**kwargs: Any) -> Any:
            self.events.append(name)
            return method(**kwargs)

        return call


def test_a_rollout_takes_a_turn_of_its_pace_before_every_lambda_control_plane_call(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a partner on build 1, and build 2 with new code and new dependencies (a new layer)
    upload_build(ctx, "code = 1", "deps = 1")
    make_partner("alpha")
    upload_build(ctx, "code = 2", "deps = 2")
    target = prepare(latest_artifact(ctx.settings.bucket, ctx.clients), STAGE, ctx.clients)
    events: list[str] = []
    ctx.clients.overrides["lambda"] = Recording(aws("lambda"), events)
    worker_ctx = replace(ctx, clients=paced_clients(ctx.clients, Turns(events)))
    # WHEN the rollout worker moves it
    result = roll_partner(worker_ctx, "alpha", target)
    # THEN each of its five control-plane calls waited for a turn of its own (the layer change is one
    # more call, not a free one); GetFunction, which has its own quota, took none
    assert result.outcome is Outcome.SUCCEEDED
    assert [e for e in events if e != "get_function"] == [
        "turn",
        "update_function_configuration",
        "turn",
        "update_function_code",
        "turn",
        "publish_version",
        "turn",
        "update_alias",
    ]
    assert "get_function" in events


def test_versions_of_one_build_published_by_racing_creates_are_kept_together(ctx: Provisioner) -> None:
    # GIVEN two old builds, then three versions of one new build (three first creates raced to publish it)
    publish_builds(ctx, 2, keep=3)
    build = upload_build(ctx, "code = new", "deps = new")
    assert build.layer_key is not None
    lambda_ = aws("lambda")
    description = layer_description(build.layer_key)
    content = {"S3Bucket": ctx.settings.bucket, "S3Key": build.layer_key}
    racing = [
        lambda_.publish_layer_version(LayerName=LAYER, Description=description, Content=content)[
            "LayerVersionArn"
        ]
        for _ in range(3)
    ]
    # WHEN one of them prunes to the newest build only
    deleted = prune_layer_versions(LAYER, 1, ctx.clients, in_use={racing[-1]})
    # THEN the old builds went and every version of the new build stayed (another create may be
    # attaching it right now)
    assert deleted == [2, 1]
    assert [v["LayerVersionArn"] for v in layer_versions(LAYER, ctx.clients)] == racing[::-1]
