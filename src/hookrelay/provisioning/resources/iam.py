"""The IAM role a partner handler runs as: its own (``handler_role=per-partner``) or the stage's (``shared``).

per-partner (the default): one role per partner, whose inline policy names that partner's queue, DLQ,
log group and secret only; a compromised handler reaches its own partner's resources. It costs one IAM
role per partner: 1,000 roles per account by default, 5,000 at most.

Neither role may send to the stage's results queue (issue 15): a handler's attempt records are its log
lines, which reach the recorder through its own log group's subscription filter, and the recorder believes
a line only for the partner whose log group it came from (:mod:`hookrelay.attempts.lines`), so a handler
can forge no record of another partner. The shared role's ``hookrelay-<stage>-*`` pattern would cover the
results queue: an explicit Deny (:data:`NO_RESULTS_QUEUE`) takes it out.

shared: one role per stage (``hookrelay-<stage>-partners-handler``, made once by :func:`ensure_shared_role`,
never deleted with a partner), the same policy over the stage's name patterns (``hookrelay-<stage>-*``
queues and log groups, ``hookrelay/<stage>/*`` secrets). It costs no role per partner, but a compromised
handler reaches every partner of the stage: it can read every signing secret (so sign webhooks as any
partner), send to and consume from every queue. Lambda passes no session tags to an execution role, so
ABAC (``aws:PrincipalTag``) cannot tell partner A's function from partner B's under one role; the
``lambda:SourceFunctionArn`` condition on the sends and the secret read at least makes the role's
credentials useless outside the stage's functions. docs/iam.md has the whole trade-off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.provisioning.resources.calls import removed, tag_list

POLICY_NAME = "hookrelay-handler"
SENDS = "SendRetriesAndDeadLetters"  # its own queue and DLQ; no longer the results queue (issue 15)
NO_RESULTS_QUEUE = "NoAttemptRecordsByQueue"  # the shared role: attempt records are log lines now
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
    log_group_arn: str
    secret_arn: str


def stage_grants(stage: str, results_queue_arn: str) -> Grants:
    """The shared role's grants: the stage's name patterns, in the results queue's account and region."""
    _, partition, _, region, account, _ = results_queue_arn.split(":", 5)
    queues = f"arn:{partition}:sqs:{region}:{account}:{naming.prefix(stage)}-*"
    return Grants(
        queue_arn=queues,
        dlq_arn=queues,
        log_group_arn=f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{naming.prefix(stage)}-*",
        secret_arn=f"arn:{partition}:secretsmanager:{region}:{account}:secret:{naming.PROJECT}/{stage}/*",
    )


def _from_stage_functions(stage: str, statement: dict[str, object]) -> dict[str, object]:
    """Only calls made from inside one of the stage's functions (Lambda injects lambda:SourceFunctionArn)."""
    functions = f"arn:*:lambda:*:*:function:{naming.prefix(stage)}-*"
    return {**statement, "Condition": {"ArnLike": {"lambda:SourceFunctionArn": functions}}}


def shared_policy_document(stage: str, results_queue_arn: str) -> dict[str, object]:
    """The shared role's policy: :func:`policy_document` over the stage's patterns, sends and secrets
    limited to calls from the stage's functions (the event source mapping's polling carries no such key);
    the results queue, which the queue pattern covers, denied."""
    guarded = {SENDS, "OwnSigningSecret"}
    statements = _statements(stage_grants(stage, results_queue_arn))
    allowed = [_from_stage_functions(stage, s) if s["Sid"] in guarded else s for s in statements]
    deny = {"Sid": NO_RESULTS_QUEUE, "Effect": "Deny", "Action": "sqs:SendMessage"}
    deny["Resource"] = results_queue_arn
    return {"Version": "2012-10-17", "Statement": [*allowed, deny]}


def policy_document(grants: Grants) -> dict[str, object]:
    """Receive/delete on its queue; send to its queue and DLQ; its logs; its secret."""
    return {"Version": "2012-10-17", "Statement": _statements(grants)}


def _statements(grants: Grants) -> list[dict[str, object]]:
    return [
        {
            "Sid": "ConsumeOwnQueue",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",  # an ordered (FIFO) partner's retries (docs/ordering.md)
            ],
            "Resource": grants.queue_arn,
        },
        {
            "Sid": SENDS,
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": [grants.queue_arn, grants.dlq_arn],
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
    ]


def ensure_shared_role(stage: str, results_queue_arn: str, clients: Clients) -> str:
    """The stage's shared handler role, made (with its policy) only when missing: one IAM read per create."""
    name = naming.shared_handler_role(stage)
    try:
        return str(clients.iam.get_role(RoleName=name)["Role"]["Arn"])
    except AWS_ERRORS as exc:
        if not has_code(exc, "NoSuchEntity"):
            raise aws_error(f"find role {name}", exc) from exc
    tags = {"project": naming.PROJECT, "environment": stage}
    return _ensure(name, shared_policy_document(stage, results_queue_arn), tags, clients)


def ensure_role(name: str, grants: Grants, tags: dict[str, str], clients: Clients) -> str:
    """Create the role (or take the existing one), put its inline policy; return its ARN."""
    return _ensure(name, policy_document(grants), tags, clients)


def _ensure(name: str, document: dict[str, object], tags: dict[str, str], clients: Clients) -> str:
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
            RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(document)
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
