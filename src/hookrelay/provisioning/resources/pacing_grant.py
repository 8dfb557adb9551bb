"""The handler's grant on its pacing state: a second inline policy (``hookrelay-pacing``) on its role,
put only when the partner is paced (at create, or by the update that sets a rate), so an unpaced
partner's handler has no DynamoDB access at all.

It allows ``GetItem`` and ``UpdateItem`` on the stage's partners table, limited by
``dynamodb:Attributes`` to the ``pace_*`` attributes (never the partner's document or status), with
projected reads and no returned values; a per-partner role only on its own item
(``dynamodb:LeadingKeys``). The shared role cannot tell partners apart (docs/iam.md): it may touch any
partner's pacing attributes, from the stage's functions only. Deleting the role deletes the policy.
"""

from __future__ import annotations

import json

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.partners.pace_store import ATTRIBUTES

PACING_POLICY_NAME = "hookrelay-pacing"


def partners_table_arn(stage: str, arn_in_account: str) -> str:
    """The stage's partners table, in the partition, region and account of another ARN of the stage."""
    _, partition, _, region, account, _ = arn_in_account.split(":", 5)
    return f"arn:{partition}:dynamodb:{region}:{account}:table/{naming.partners_table(stage)}"


def pacing_policy_document(stage: str, arn_in_account: str, partner_id: str | None) -> dict[str, object]:
    """The pacing policy of ``partner_id``'s own role, or (None) of the stage's shared role."""
    only: dict[str, object] = {"dynamodb:Attributes": list(ATTRIBUTES)}
    conditions: dict[str, object] = {
        "ForAllValues:StringEquals": only,
        "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES", "dynamodb:ReturnValues": "NONE"},
    }
    if partner_id is not None:
        only["dynamodb:LeadingKeys"] = [partner_id]
    else:
        functions = f"arn:*:lambda:*:*:function:{naming.prefix(stage)}-*"
        conditions["ArnLike"] = {"lambda:SourceFunctionArn": functions}
    statement = {
        "Sid": "OwnPacingState",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        "Resource": partners_table_arn(stage, arn_in_account),
        "Condition": conditions,
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


def grant_pacing(
    stage: str, partner_id: str, shared_role: bool, arn_in_account: str, clients: Clients
) -> None:
    """Put the pacing policy on the partner's handler role (idempotent: one IAM call)."""
    role = naming.shared_handler_role(stage) if shared_role else naming.partner_role(stage, partner_id)
    document = pacing_policy_document(stage, arn_in_account, None if shared_role else partner_id)
    try:
        clients.iam.put_role_policy(
            RoleName=role, PolicyName=PACING_POLICY_NAME, PolicyDocument=json.dumps(document)
        )
    except AWS_ERRORS as exc:
        raise aws_error(f"grant role {role} its pacing state", exc) from exc
