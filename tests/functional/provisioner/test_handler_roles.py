"""handler_role=shared against moto: one role per stage, used by every partner, never deleted with one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookrelay import naming
from hookrelay.partners.model import PartnerCreate
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.lifecycle import create_partner, delete_partner
from hookrelay.provisioning.resources.shared import ensure_shared

from .conftest import STAGE, URL, aws

SHARED_ROLE = naming.shared_handler_role(STAGE)


@pytest.fixture
def shared(ctx: Provisioner) -> Provisioner:
    ctx.settings = ctx.settings.model_copy(update={"handler_role": "shared"})
    return ctx


def role_of(partner_id: str) -> str:
    config = aws("lambda").get_function(FunctionName=naming.partner_function(STAGE, partner_id))
    return str(config["Configuration"]["Role"]).rsplit("/", 1)[1]


def roles() -> list[str]:
    return sorted(r["RoleName"] for r in aws("iam").list_roles()["Roles"])


def test_partners_created_in_shared_mode_run_as_the_one_stage_role(shared: Provisioner) -> None:
    # GIVEN a stage whose handlers share one role
    # WHEN two partners are created
    for pid in ("acme", "globex"):
        create_partner(shared, PartnerCreate(partner_id=pid, url=URL))
    # THEN both functions run as the stage's role, the only role there is
    assert role_of("acme") == role_of("globex") == SHARED_ROLE
    assert roles() == [SHARED_ROLE]


def test_the_shared_roles_policy_covers_the_stage_and_only_from_its_functions(shared: Provisioner) -> None:
    # GIVEN a partner created in shared mode
    create_partner(shared, PartnerCreate(partner_id="acme", url=URL))
    # WHEN the shared role's policy is read
    iam = aws("iam")
    (name,) = iam.list_role_policies(RoleName=SHARED_ROLE)["PolicyNames"]
    document = iam.get_role_policy(RoleName=SHARED_ROLE, PolicyName=name)["PolicyDocument"]
    statements = {s["Sid"]: s for s in document["Statement"]}
    # THEN it consumes the stage's queues, reads the stage's secrets, writes the stage's log groups
    assert statements["ConsumeOwnQueue"]["Resource"] == "arn:aws:sqs:us-east-1:123456789012:hookrelay-test-*"
    assert statements["OwnSigningSecret"]["Resource"] == (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:hookrelay/test/*"
    )
    assert statements["OwnLogGroup"]["Resource"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/hookrelay-test-*:*"
    )
    # AND sends and the secret read are allowed only from inside the stage's functions
    only_functions = {"ArnLike": {"lambda:SourceFunctionArn": "arn:*:lambda:*:*:function:hookrelay-test-*"}}
    assert statements["SendRetriesAndDeadLetters"]["Condition"] == only_functions
    # AND the results queue, inside the stage's pattern, is denied (attempt records are log lines: issue 15)
    assert statements["NoAttemptRecordsByQueue"] == {
        "Sid": "NoAttemptRecordsByQueue",
        "Effect": "Deny",
        "Action": "sqs:SendMessage",
        "Resource": "arn:aws:sqs:us-east-1:123456789012:hookrelay-test-results",
    }
    assert statements["OwnSigningSecret"]["Condition"] == only_functions
    assert "Condition" not in statements["ConsumeOwnQueue"]  # the mapping's polling carries no such key


def test_delete_in_shared_mode_leaves_the_shared_role(shared: Provisioner) -> None:
    # GIVEN two partners sharing the stage role
    for pid in ("acme", "globex"):
        create_partner(shared, PartnerCreate(partner_id=pid, url=URL))
    # WHEN one is deleted
    deleted = delete_partner(shared, "acme")
    # THEN the role stays (globex runs as it) and the report removes no role
    assert roles() == [SHARED_ROLE]
    assert [r for r in deleted.removed if r.startswith("role:")] == []
    assert role_of("globex") == SHARED_ROLE


def test_ensure_shared_makes_the_shared_role_once(shared: Provisioner) -> None:
    # GIVEN shared mode, WHEN the shared resources are ensured twice
    first = ensure_shared(STAGE, shared.clients, shared.settings)
    again = ensure_shared(STAGE, shared.clients, shared.settings)
    # THEN one role exists, with one policy
    assert first == again
    assert roles() == [SHARED_ROLE]
    assert aws("iam").list_role_policies(RoleName=SHARED_ROLE)["PolicyNames"] == ["hookrelay-handler"]


def test_per_partner_mode_makes_no_shared_role(ctx: Provisioner) -> None:
    # GIVEN the default mode, WHEN a partner is created, THEN it runs as its own role and no shared one exists
    create_partner(ctx, PartnerCreate(partner_id="acme", url=URL))
    assert role_of("acme") == naming.partner_role(STAGE, "acme")
    assert roles() == [naming.partner_role(STAGE, "acme")]


def test_post_partners_in_shared_mode_with_own_alarms(ctx: Provisioner, http: Any) -> None:
    # GIVEN a stage sharing one handler role, with acme listed for its own alarms
    ctx.settings = ctx.settings.model_copy(update={"handler_role": "shared", "partner_alarms": ("acme",)})
    # WHEN acme is created over the API
    response = http.http.post(
        "/partners",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"partner_id": "acme", "url": URL}),
    )
    # THEN it runs as the shared role and has its own three alarms
    assert response.status_code == 201
    assert role_of("acme") == SHARED_ROLE
    found = aws("cloudwatch").describe_alarms(AlarmNamePrefix=f"{naming.prefix(STAGE)}-acme-")["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in found) == sorted(
        naming.partner_alarm(STAGE, "acme", kind) for kind in naming.ALARM_KINDS
    )
