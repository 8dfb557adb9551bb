"""The live alias: mappings invoke it, every change publishes a version and moves it, pruning keeps the
newest few (never the live one), provisioned concurrency sits on it, and pre-alias mappings move onto it."""

from __future__ import annotations

from typing import Any

from hookrelay import naming
from hookrelay.partners.update import PartnerUpdate
from hookrelay.provisioning.changes import update_partner
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.resources.versions import go_live, prune

from .conftest import STAGE, aws

FUNCTION = naming.partner_function(STAGE, "acme")
LIVE = f"{FUNCTION}:live"


def versions() -> list[str]:
    listed = aws("lambda").list_versions_by_function(FunctionName=FUNCTION)["Versions"]
    return [v["Version"] for v in listed if v["Version"] != "$LATEST"]


def live_version() -> str:
    return str(aws("lambda").get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"])


class ProvisionedConcurrency:
    """A Lambda client recording provisioned-concurrency calls (moto answers 404 "Not yet implemented")."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def put_provisioned_concurrency_config(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("put", kwargs))
        return {"RequestedProvisionedConcurrentExecutions": kwargs["ProvisionedConcurrentExecutions"]}

    def delete_provisioned_concurrency_config(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("delete", kwargs))
        return {}


def test_a_new_partners_mapping_invokes_its_live_alias(make_partner: Any) -> None:
    # WHEN a partner is created
    make_partner("acme")
    # THEN version 1 is published, live points at it, and the queue's only mapping invokes live
    assert (versions(), live_version()) == (["1"], "1")
    assert len(aws("lambda").list_event_source_mappings(FunctionName=LIVE)["EventSourceMappings"]) == 1
    assert aws("lambda").list_event_source_mappings(FunctionName=FUNCTION)["EventSourceMappings"] == []


def test_a_patch_that_changes_the_environment_moves_the_alias(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner
    make_partner("acme")
    # WHEN its URL is changed
    update_partner(ctx, "acme", PartnerUpdate(url="http://127.0.0.1:9/new"))
    # THEN a version with the new environment is published and live points at it
    assert live_version() == "2"
    environment = aws("lambda").get_function_configuration(FunctionName=LIVE)["Environment"]["Variables"]
    assert environment["HOOKRELAY_PARTNER_URL"] == "http://127.0.0.1:9/new"


def test_pruning_keeps_the_newest_versions(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner (version 1) and keep_versions 3
    make_partner("acme")
    assert ctx.settings.keep_versions == 3
    # WHEN it changes four more times
    for timeout in (1, 2, 3, 4):
        update_partner(ctx, "acme", PartnerUpdate(connect_timeout=timeout))
    # THEN only the newest three versions remain, and live is the newest
    assert (versions(), live_version()) == (["3", "4", "5"], "5")


def test_pruning_never_deletes_the_live_version(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN versions 1 to 4 (nothing pruned yet), live rolled back to 1
    ctx.settings = ctx.settings.model_copy(update={"keep_versions": 10})
    make_partner("acme")
    for timeout in (1, 2, 3):
        update_partner(ctx, "acme", PartnerUpdate(connect_timeout=timeout))
    aws("lambda").update_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")
    # WHEN pruning after version 4 with keep 3 (which would drop version 1)
    deleted = prune(FUNCTION, 4, 3, 1, ctx.clients)
    # THEN nothing is deleted; with keep 2 it is version 2 that goes
    assert (deleted, versions()) == (None, ["1", "2", "3", "4"])
    assert (prune(FUNCTION, 4, 2, 1, ctx.clients), versions()) == (2, ["1", "3", "4"])


def test_provisioned_concurrency_is_set_on_the_live_alias_and_removed(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a Lambda client that records provisioned concurrency calls
    recorder = ProvisionedConcurrency(aws("lambda"))
    ctx.clients.overrides["lambda"] = recorder
    # WHEN a partner opts in with 2, then changes to 3, then the option is removed (None)
    make_partner("acme", provisioned_concurrency=2)
    update_partner(ctx, "acme", PartnerUpdate(provisioned_concurrency=3))
    go_live(FUNCTION, ctx.clients, 3, None, 3)
    # THEN each is applied to the live alias
    assert recorder.calls == [
        ("put", {"FunctionName": FUNCTION, "Qualifier": "live", "ProvisionedConcurrentExecutions": 2}),
        ("put", {"FunctionName": FUNCTION, "Qualifier": "live", "ProvisionedConcurrentExecutions": 3}),
        ("delete", {"FunctionName": FUNCTION, "Qualifier": "live"}),
    ]
    assert ctx.partners.get("acme").provisioned_concurrency == 3


def test_a_partner_without_provisioned_concurrency_never_calls_its_api(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a recording client, WHEN a partner without the option is created and changed, THEN no call
    recorder = ProvisionedConcurrency(aws("lambda"))
    ctx.clients.overrides["lambda"] = recorder
    make_partner("acme")
    update_partner(ctx, "acme", PartnerUpdate(read_timeout=20))
    assert recorder.calls == []


def test_a_mapping_made_before_the_alias_moves_onto_it(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner as it was before the alias: mapping on the bare function, no alias
    make_partner("acme")
    lambda_ = aws("lambda")
    (mapping,) = lambda_.list_event_source_mappings(FunctionName=LIVE)["EventSourceMappings"]
    lambda_.delete_event_source_mapping(UUID=mapping["UUID"])
    lambda_.delete_alias(FunctionName=FUNCTION, Name="live")
    lambda_.create_event_source_mapping(
        FunctionName=FUNCTION, EventSourceArn=mapping["EventSourceArn"], BatchSize=10, Enabled=False
    )
    # WHEN the next change goes live
    go_live(FUNCTION, ctx.clients, 3)
    # THEN the queue's one mapping invokes live, still disabled
    assert lambda_.list_event_source_mappings(FunctionName=FUNCTION)["EventSourceMappings"] == []
    (moved,) = lambda_.list_event_source_mappings(FunctionName=LIVE)["EventSourceMappings"]
    assert (moved["EventSourceArn"], moved["State"], moved["BatchSize"]) == (
        mapping["EventSourceArn"],
        "Disabled",
        10,
    )
