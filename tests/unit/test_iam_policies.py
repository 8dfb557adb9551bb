"""Each app's hand-written IAM policy allows every AWS call its code can make, and nothing beyond.

The calls come from a static scan of the functions each app's Lambda functions can reach
(tests/support/aws_calls.py); tests/functional records the calls the functional tests really make
(HOOKRELAY_AWS_CALL_LOG, `make iam-audit`) and checks them against the same scan.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from hookrelay.partners.pace_store import ATTRIBUTES as PACE_ATTRIBUTES
from hookrelay.provisioning.resources.iam import Grants, policy_document, shared_policy_document
from hookrelay.provisioning.resources.pacing_grant import pacing_policy_document
from tests.support.aws_calls import ROOT, allows, app_actions, app_graph, as_list, granted_actions, statements

STAGES = ("dev", "prod")
PARTNERS_TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/hookrelay-{stage}-partners"
# A paced partner's handler reads and writes its pacing state (docs/partner-pacing.md).
PACING_CALLS = {"dynamodb:GetItem", "dynamodb:UpdateItem"}
# What each app's Chalice role runs: all of app.py, except the handler, whose `deliver` runs in each
# partner's own role (hookrelay.provisioning.resources.iam): its Chalice role runs nothing (the handler
# app is packaged, never chalice-deployed; the results recorder is the provisioner's).
ENTRIES: dict[str, tuple[str, ...] | None] = {
    "handler": (),
    "provisioner": None,
    "receiver": None,
    "alarm-to-slack": None,
    "sqs-mv": None,
}
# Permissions Lambda itself uses with the function's role: its logs, X-Ray (tracing is on), and, for a
# function with an SQS event source, polling the queue.
RUNTIME = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
TRACING = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SQS_TRIGGER = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
SQS_CONSUMERS = {"provisioner", "receiver"}
# What Lambda checks on the caller that configures a function with a layer (no call of its own).
LAYER_USERS = {"provisioner": {"lambda:GetLayerVersion"}}
# What Lambda does with the function's role for an async event it drops: send it to the function's
# on-failure destination (alarm-to-slack: hookrelay-<stage>-alarm-failures).
ON_FAILURE_DESTINATION = {"alarm-to-slack": {"sqs:SendMessage"}}
# What the scan finds without a real call path (it matches methods by name), and why.
QUEUE_URL_ATTRIBUTE = (
    "the .queue_url attribute (HandlerSettings) matches aws.sqs.queue_url; deliver "
    "gets every queue URL from its environment"
)
NOT_CALLED = {
    "handler": {
        "secretsmanager:GetSecretValue": "a dict's .get() in module-level code matches CachedSigningKeys.get "
        "(the handler's Chalice role runs no function)",
        "sqs:GetQueueUrl": QUEUE_URL_ATTRIBUTE,
    },
    "deliver": {
        "sqs:GetQueueUrl": QUEUE_URL_ATTRIBUTE,
        "dynamodb:PutItem": "a .record attribute (the SQS record being handled) matches AttemptLog.record "
        "(the handler writes its attempts as log lines; the recorder writes the table)",
    },
}
# Resource "*" only where AWS has no resource-level permission for the action.
STAR_RESOURCE = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "logs:DescribeLogGroups": "a list call: no resource-level permissions",
    "lambda:ListEventSourceMappings": "a list call: no resource-level permissions",
    "lambda:GetAccountSettings": "an account-wide read: no resource-level permissions",
    "iam:GetAccountSummary": "an account-wide read: no resource-level permissions",
    "cloudwatch:GetMetricData": "metric reads have no resource-level permissions (the console's ages)",
}
# Resource "*" allowed only under a condition naming the stage's functions (mappings are named by UUID).
STAR_WITH_CONDITION = {
    "lambda:CreateEventSourceMapping",
    "lambda:UpdateEventSourceMapping",
    "lambda:DeleteEventSourceMapping",
}
# Calls with the resource each must reach in dev (and must not in prod).
RESOURCES = {
    "handler": [
        ("logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/hookrelay-handler-{stage}-x:*"),
    ],
    "provisioner": [
        # the results recorder: attempts into the deliveries table, gone partners marked
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/hookrelay-{stage}-deliveries"),
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/hookrelay-{stage}-partners"),
        ("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-results"),
        ("lambda:CreateFunction", "arn:aws:lambda:us-east-1:123456789012:function:hookrelay-{stage}-acme"),
        ("iam:PassRole", "arn:aws:iam::123456789012:role/hookrelay-{stage}-acme-handler"),
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/hookrelay-{stage}-acme-handler"),
        ("sqs:CreateQueue", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-acme-dlq"),
        (
            "secretsmanager:CreateSecret",
            "arn:aws:secretsmanager:us-east-1:1:secret:hookrelay/{stage}/acme/signing-Ab",
        ),
        ("s3:GetObject", "arn:aws:s3:::hookrelay-{stage}-artifacts/handler/latest.json"),
        ("s3:GetObject", "arn:aws:s3:::hookrelay-{stage}-artifacts/handler/layers/ab12.zip"),
        (
            "lambda:PublishLayerVersion",
            "arn:aws:lambda:us-east-1:123456789012:layer:hookrelay-{stage}-handler-deps",
        ),
        (
            "lambda:GetLayerVersion",
            "arn:aws:lambda:us-east-1:123456789012:layer:hookrelay-{stage}-handler-deps:3",
        ),
        (
            "cloudwatch:PutMetricAlarm",
            "arn:aws:cloudwatch:us-east-1:1:alarm:hookrelay-{stage}-acme-dlq-depth",
        ),
        ("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/hookrelay-{stage}-deliveries"),
        # issue 14: the events feed (publish once, the subscription index, the router's queue and sends)
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/hookrelay-{stage}-events"),
        ("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/hookrelay-{stage}-subscriptions"),
        ("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-events"),
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-events"),
        # events with an ordering key: the FIFO events queue, published to and consumed by the router
        ("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-events.fifo"),
        ("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-events.fifo"),
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-events.fifo"),
        ("sqs:CreateQueue", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-events-dlq.fifo"),
        (
            "cloudwatch:PutMetricAlarm",
            "arn:aws:cloudwatch:us-east-1:1:alarm:hookrelay-{stage}-events-dlq.fifo-depth",
        ),
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-acme"),
        # issue 17 on main's paths: the router, resend and replay send to an ordered partner's FIFO queue;
        # redrive reads its FIFO DLQ
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-acme.fifo"),
        ("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-acme-dlq"),
        ("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-acme-dlq.fifo"),
        ("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-acme-dlq.fifo"),
    ],
    "alarm-to-slack": [
        (
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:1:secret:hookrelay/{stage}/slack-webhook-Ab",
        ),
        ("logs:FilterLogEvents", "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/hookrelay-{stage}-acme:*"),
        (
            "cloudwatch:DescribeAlarmContributors",
            "arn:aws:cloudwatch:us-east-1:1:alarm:hookrelay-{stage}-partners-dlq-depth",
        ),
    ],
    "sqs-mv": [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:hookrelay-{stage}-acme"),
    ],
}


def present(app: str) -> Any:
    marks = (
        [] if (ROOT / app / "app.py").exists() else [pytest.mark.skip(reason=f"{app}/app.py not here yet")]
    )
    return pytest.param(app, marks=marks, id=app)


APPS = [present(app) for app in ENTRIES]


def config(app: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / app / ".chalice" / "config.json").read_text()))


def policy_path(app: str, stage: str) -> Path:
    conf = config(app)
    name = conf["stages"][stage].get("iam_policy_file") or conf.get("iam_policy_file")
    assert name, f"{app} has no iam_policy_file for {stage}"
    return ROOT / app / ".chalice" / name


def policy(app: str, stage: str) -> dict[str, Any]:
    return dict(json.loads(policy_path(app, stage).read_text()))


def needed(app: str) -> set[str]:
    called = set(app_actions(app, ENTRIES[app])) - set(NOT_CALLED.get(app, {}))
    trigger = SQS_TRIGGER if app in SQS_CONSUMERS else set()
    extra = LAYER_USERS.get(app, set()) | ON_FAILURE_DESTINATION.get(app, set())
    return called | RUNTIME | TRACING | trigger | extra


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("stage", STAGES)
def test_every_app_has_a_hand_written_policy(app: str, stage: str) -> None:
    assert config(app)["stages"][stage].get("autogen_policy", config(app).get("autogen_policy")) is False
    assert policy_path(app, stage).exists()


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("stage", STAGES)
def test_the_policy_allows_every_call_the_app_makes(app: str, stage: str) -> None:
    missing = {a for a in needed(app) if not allows(policy(app, stage), a)}
    assert missing == set()


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("stage", STAGES)
def test_the_policy_grants_nothing_the_app_does_not_call(app: str, stage: str) -> None:
    assert granted_actions(policy(app, stage)) - needed(app) == set()


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("stage", STAGES)
def test_no_action_is_a_wildcard(app: str, stage: str) -> None:
    assert [a for a in granted_actions(policy(app, stage)) if "*" in a or "?" in a] == []


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("stage", STAGES)
def test_resource_star_only_where_aws_requires_it(app: str, stage: str) -> None:
    for statement in statements(policy(app, stage)):
        if "*" not in (as_list(statement["Resource"])):
            continue
        actions = set(as_list(statement["Action"]))
        if actions <= STAR_WITH_CONDITION:
            assert f"function:hookrelay-{stage}-*" in json.dumps(statement["Condition"]), statement["Sid"]
        else:
            assert actions <= set(STAR_RESOURCE), statement["Sid"]


@pytest.mark.parametrize("app", [a for a in APPS if a.values[0] != "receiver"])
@pytest.mark.parametrize("stage", STAGES)
def test_resources_are_named_for_the_stage(app: str, stage: str) -> None:
    other = next(s for s in STAGES if s != stage)
    for statement in statements(policy(app, stage)):
        resources = as_list(statement["Resource"])
        for resource in (r for r in resources if r != "*"):
            assert re.search(rf"(?<![a-z0-9]){stage}(?![a-z0-9])", resource), resource
            assert not re.search(rf"(?<![a-z0-9]){other}(?![a-z0-9])", resource), resource


def test_the_receiver_is_scoped_to_its_own_names() -> None:
    # The receiver is what a partner deploys, outside hookrelay's stages: its names are fixed.
    for stage in STAGES:
        for statement in statements(policy("receiver", stage)):
            resources = as_list(statement["Resource"])
            assert all(r == "*" or "hookrelay-receiver" in r for r in resources), statement["Sid"]


@pytest.mark.parametrize("app", [a for a in APPS if a.values[0] != "receiver"])
def test_stage_policies_differ_only_in_the_stage(app: str) -> None:
    dev = policy_path(app, "dev").read_text()
    assert re.sub(r"(?<![a-z0-9])dev(?![a-z0-9])", "prod", dev) == policy_path(app, "prod").read_text()


@pytest.mark.parametrize("app", [present(a) for a in RESOURCES])
def test_each_call_reaches_its_own_stages_resources_only(app: str) -> None:
    for action, arn in RESOURCES[app]:
        assert allows(policy(app, "dev"), action, arn.format(stage="dev")), (action, arn)
        assert not allows(policy(app, "dev"), action, arn.format(stage="prod")), (action, arn)


def test_the_handler_entry_points_are_all_assigned_a_role() -> None:
    # GIVEN the functions handler/app.py registers: deliver only (run in each partner's own role)
    functions = {k.split(":")[1]: f for k, f in app_graph("handler").defs.items() if k.startswith("app:")}
    # WHEN we take those Chalice registers (decorated @app.<something>(...))
    registered = {
        name
        for name, function in functions.items()
        for d in function.decorator_list
        if isinstance(d, ast.Call)
        and isinstance(d.func, ast.Attribute)
        and ast.unparse(d.func.value) == "app"
    }
    # THEN deliver is the only one (the results recorder is the provisioner's)
    assert registered == {"deliver"}


def test_a_partners_role_allows_what_deliver_calls_and_nothing_more() -> None:
    # GIVEN the role the provisioner makes for partner acme in dev
    arn = "arn:aws:sqs:us-east-1:123456789012:hookrelay-dev-{}"
    grants = Grants(
        queue_arn=arn.format("acme"),
        dlq_arn=arn.format("acme-dlq"),
        log_group_arn="arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/hookrelay-dev-acme",
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:hookrelay/dev/acme/signing-AbCdEf",
    )
    # (a paced partner's role also has the pacing policy; an unpaced one's has the first alone)
    handler, pacing = policy_document(grants), pacing_policy_document("dev", grants.queue_arn, "acme")
    document = {"Statement": [*statements(handler), *statements(pacing)]}
    # WHEN the scan lists what deliver can call
    called = set(app_actions("handler", ("deliver",))) - set(NOT_CALLED["deliver"])
    # THEN each call is allowed on acme's own resources, and nothing else is granted
    assert called == {"sqs:SendMessage", "sqs:ChangeMessageVisibility", "secretsmanager:GetSecretValue"} | (
        PACING_CALLS
    )
    for queue in (grants.queue_arn, grants.dlq_arn):
        assert allows(document, "sqs:SendMessage", queue)
    assert not allows(document, "sqs:SendMessage", arn.format("other"))
    # no attempt record by queue (issue 15): its attempt lines reach the recorder through its log group
    assert not allows(document, "sqs:SendMessage", arn.format("results"))
    # an ordered partner's retries change visibility on its own queue, and nowhere else
    assert allows(document, "sqs:ChangeMessageVisibility", grants.queue_arn)
    assert not allows(document, "sqs:ChangeMessageVisibility", grants.dlq_arn)
    assert not allows(document, "sqs:ChangeMessageVisibility", arn.format("other"))
    assert allows(document, "secretsmanager:GetSecretValue", grants.secret_arn)
    # the pacing attributes of acme's own item in the partners table, and nothing else of it
    for action in PACING_CALLS:
        assert allows(document, action, PARTNERS_TABLE.format(stage="dev"))
        assert not allows(
            document, action, PARTNERS_TABLE.format(stage="dev").replace("partners", "deliveries")
        )
    only = _pacing_condition(document)["ForAllValues:StringEquals"]
    assert only == {"dynamodb:Attributes": list(PACE_ATTRIBUTES), "dynamodb:LeadingKeys": ["acme"]}
    assert "doc" not in PACE_ATTRIBUTES
    assert "status" not in PACE_ATTRIBUTES
    assert not any(a.startswith("dynamodb:") for a in granted_actions(handler))
    runtime = {"logs:CreateLogStream", "logs:PutLogEvents"} | TRACING | SQS_TRIGGER
    assert granted_actions(document) == called | runtime


def test_the_shared_role_allows_what_deliver_calls_for_every_partner_of_its_stage_only() -> None:
    # GIVEN the shared handler role's policy for dev
    results = "arn:aws:sqs:us-east-1:123456789012:hookrelay-dev-results"
    shared, pacing = shared_policy_document("dev", results), pacing_policy_document("dev", results, None)
    document = {"Statement": [*shared["Statement"], *statements(pacing)]}
    # WHEN the scan lists what deliver can call
    called = set(app_actions("handler", ("deliver",))) - set(NOT_CALLED["deliver"])
    # THEN each call is allowed on any dev partner's resources, never on prod's, and nothing else is granted
    queue = "arn:aws:sqs:us-east-1:123456789012:hookrelay-{}-{}"
    for stage, allowed in (("dev", True), ("prod", False)):
        for name in ("acme", "acme-dlq", "globex"):
            assert allows(document, "sqs:SendMessage", queue.format(stage, name)) is allowed
        # the stage's pattern covers the results queue: denied (issue 15, attempt records are log lines)
        assert not allows(document, "sqs:SendMessage", queue.format(stage, "results"))
        secret = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:hookrelay/{stage}/acme/signing-AbCdEf"
        assert allows(document, "secretsmanager:GetSecretValue", secret) is allowed
        for action in PACING_CALLS:
            assert allows(document, action, PARTNERS_TABLE.format(stage=stage)) is allowed
    # any dev partner's pacing attributes (one role cannot tell partners apart), from a dev function only
    condition = _pacing_condition(document)
    assert condition["ForAllValues:StringEquals"] == {"dynamodb:Attributes": list(PACE_ATTRIBUTES)}
    assert condition["ArnLike"] == {"lambda:SourceFunctionArn": "arn:*:lambda:*:*:function:hookrelay-dev-*"}
    runtime = {"logs:CreateLogStream", "logs:PutLogEvents"} | TRACING | SQS_TRIGGER
    assert granted_actions(document) == called | runtime


def _pacing_condition(document: dict[str, Any]) -> dict[str, Any]:
    (statement,) = [s for s in statements(document) if s["Sid"] == "OwnPacingState"]
    condition: dict[str, Any] = statement["Condition"]
    assert condition["StringEqualsIfExists"] == {
        "dynamodb:Select": "SPECIFIC_ATTRIBUTES",
        "dynamodb:ReturnValues": "NONE",
    }
    return condition
