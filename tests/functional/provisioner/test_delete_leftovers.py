"""Delete leaves nothing of a partner, checked by listing each AWS service directly (not through tags),
and a delete that failed halfway finishes when run again."""

from __future__ import annotations

from typing import Any

import pytest

from hookrelay import naming
from hookrelay.errors import DependencyUnavailable
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.lifecycle import delete_partner
from tests.functional.provisioner.conftest import STAGE, Failing, aws


def owned(name: str, partner_id: str) -> bool:
    """A resource name of this partner's: its own name, or its name plus a suffix."""
    base = naming.partner_function(STAGE, partner_id)
    return name == base or name.startswith(f"{base}-")


def leftovers(partner_id: str) -> dict[str, list[str]]:
    """Everything of ``partner_id``'s that AWS still lists, service by service (empty lists dropped)."""
    function = naming.partner_function(STAGE, partner_id)
    secret_prefix = f"{naming.PROJECT}/{STAGE}/{partner_id}/"
    found = {
        "functions": [f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]],
        "mappings": [
            m["UUID"]
            for m in aws("lambda").list_event_source_mappings()["EventSourceMappings"]
            if m["FunctionArn"].split(":function:", 1)[1].split(":", 1)[0] == function
        ],
        "roles": [r["RoleName"] for r in aws("iam").list_roles()["Roles"]],
        "queues": [u.rsplit("/", 1)[1] for u in aws("sqs").list_queues().get("QueueUrls", [])],
        "alarms": [a["AlarmName"] for a in aws("cloudwatch").describe_alarms()["MetricAlarms"]],
        "log groups": [
            g["logGroupName"].removeprefix("/aws/lambda/")
            for g in aws("logs").describe_log_groups()["logGroups"]
        ],
        "secrets": [
            s["Name"]
            for s in aws("secretsmanager").list_secrets()["SecretList"]
            if s["Name"].startswith(secret_prefix)
        ],
    }
    mine = {
        kind: [n for n in names if kind in ("mappings", "secrets") or owned(n, partner_id)]
        for kind, names in found.items()
    }
    return {kind: names for kind, names in mine.items() if names}


def test_delete_leaves_nothing_any_service_lists_and_spares_the_neighbour(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN two partners
    make_partner("acme")
    make_partner("beta")
    assert set(leftovers("acme")) >= {"functions", "mappings", "queues", "log groups", "secrets"}
    before = leftovers("beta")
    # WHEN one is deleted
    delete_partner(ctx, "acme")
    # THEN no service lists anything of it, and the other partner keeps everything it had
    assert leftovers("acme") == {}
    assert leftovers("beta") == before
    assert ctx.partners.find("acme") is None


@pytest.mark.parametrize(
    ("service", "method"),
    [("lambda", "delete_function"), ("sqs", "delete_queue"), ("secretsmanager", "delete_secret")],
)
def test_a_delete_that_failed_halfway_finishes_when_run_again(
    ctx: Provisioner, make_partner: Any, service: str, method: str
) -> None:
    # GIVEN a partner whose delete fails part way (AWS refuses one step with a 503)
    make_partner("acme")
    ctx.clients.overrides[service] = Failing(aws(service), method)
    with pytest.raises(DependencyUnavailable):
        delete_partner(ctx, "acme")
    # THEN the partner's record is still there (the operator sees it and can run delete again)
    assert ctx.partners.find("acme") is not None
    assert leftovers("acme") != {}
    # WHEN delete runs again (the failure has passed)
    delete_partner(ctx, "acme")
    # THEN it finished: nothing of the partner is left anywhere
    assert leftovers("acme") == {}
    assert ctx.partners.find("acme") is None
