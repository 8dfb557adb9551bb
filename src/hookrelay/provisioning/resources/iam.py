"""A partner handler's own IAM role, with a least-privilege inline policy over its own resources only."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.provisioning.resources.calls import removed, tag_list

POLICY_NAME = "hookrelay-handler"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass(frozen=True)
class Grants:
    """The ARNs a handler may touch."""

    queue_arn: str
    dlq_arn: str
    results_queue_arn: str
    log_group_arn: str
    secret_arn: str


def policy_document(grants: Grants) -> dict[str, object]:
    """Receive/delete on its queue; send to its queue, DLQ and the results queue; its logs; its secret."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ConsumeOwnQueue",
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                ],
                "Resource": grants.queue_arn,
            },
            {
                "Sid": "SendRetriesDeadLettersAndResults",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": [grants.queue_arn, grants.dlq_arn, grants.results_queue_arn],
            },
            {
                "Sid": "OwnLogGroup",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{grants.log_group_arn}:*",
            },
            {
                "Sid": "OwnSigningSecret",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": grants.secret_arn,
            },
            {
                "Sid": "Tracing",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            },
        ],
    }


def ensure_role(name: str, grants: Grants, tags: dict[str, str], clients: Clients) -> str:
    """Create the role (or take the existing one), put its inline policy; return its ARN."""
    try:
        role = clients.iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description="hookrelay partner handler",
            Tags=tag_list(tags),
        )["Role"]
    except AWS_ERRORS as exc:
        if not has_code(exc, "EntityAlreadyExists"):
            raise aws_error(f"create role {name}", exc) from exc
        role = clients.iam.get_role(RoleName=name)["Role"]
    try:
        clients.iam.put_role_policy(
            RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy_document(grants))
        )
    except AWS_ERRORS as exc:
        raise aws_error(f"put the policy of role {name}", exc) from exc
    return str(role["Arn"])


def delete_role(name: str, clients: Clients) -> bool:
    """Delete the role and its inline policies; True when it existed."""

    def delete() -> None:
        for policy in clients.iam.list_role_policies(RoleName=name)["PolicyNames"]:
            clients.iam.delete_role_policy(RoleName=name, PolicyName=policy)
        clients.iam.delete_role(RoleName=name)

    return removed(f"delete role {name}", delete, "NoSuchEntity")
