"""create and delete against moto: every resource, configured as promised; nothing left behind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookrelay import naming
from hookrelay.errors import Conflict, DependencyUnavailable, NotFound
from hookrelay.partners.model import PartnerCreate, PartnerStatus
from hookrelay.provisioning.changes import enable_partner, rotate_partner_secret
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.lifecycle import create_partner, delete_partner
from hookrelay.provisioning.publish import PublishRequest
from hookrelay.signing.keys import read_signing_keys

from .conftest import STAGE, URL, Failing, aws


def tagged(partner_id: str) -> list[str]:
    found = aws("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "partner", "Values": [partner_id]}]
    )
    return sorted(r["ResourceARN"] for r in found["ResourceTagMappingList"])


def test_create_makes_every_resource_as_configured(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner with post concurrency 5 and 5 s + 15 s HTTP timeouts
    # WHEN it is created
    created = make_partner("acme", max_concurrency=3, reserved_concurrency=4)
    # THEN it is active and its secret is a whsec_ secret, the one stored in Secrets Manager
    assert created.partner.status is PartnerStatus.ACTIVE
    secret = created.secret.get_secret_value()
    assert secret.startswith("whsec_")
    stored = read_signing_keys(naming.partner_secret(STAGE, "acme"), aws("secretsmanager"))
    assert stored.active_secrets(created.partner.created_at) == [secret]
    # AND the function: timeout ceil(10/5) * (5+15) + 10 = 50 s, tracing, concurrency, env without secret
    function = aws("lambda").get_function(FunctionName=naming.partner_function(STAGE, "acme"))
    config = function["Configuration"]
    assert (config["Timeout"], config["Handler"], config["TracingConfig"]) == (
        50,
        "app.deliver",
        {"Mode": "Active"},
    )
    assert function["Concurrency"] == {"ReservedConcurrentExecutions": 4}
    env = config["Environment"]["Variables"]
    assert env["HOOKRELAY_SECRET_ID"] == naming.partner_secret(STAGE, "acme")
    assert env["HOOKRELAY_PARTNER_URL"] == URL
    assert env["HOOKRELAY_ALLOWED_NETWORKS"] == '["loopback"]'
    assert secret not in json.dumps(env)
    # AND the queue: visibility 6 x 50 s, 14 days retention, redrive to its DLQ after 5 receives
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=naming.partner_queue(STAGE, "acme"))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["VisibilityTimeout"], attributes["MessageRetentionPeriod"]) == ("300", "1209600")
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":" + naming.partner_dead_letter_queue(STAGE, "acme"))
    assert redrive["maxReceiveCount"] == 5
    # AND the mapping (of the live alias): batch 10, partial batch failures, ceiling = max_concurrency
    (mapping,) = aws("lambda").list_event_source_mappings(FunctionName=config["FunctionName"] + ":live")[
        "EventSourceMappings"
    ]
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert mapping["State"] == "Enabled"
    # AND the log group keeps 30 days; no alarm of its own (the stage alarms watch every partner)
    (group,) = aws("logs").describe_log_groups(logGroupNamePrefix=naming.partner_log_group(STAGE, "acme"))[
        "logGroups"
    ]
    assert group["retentionInDays"] == 30
    assert partner_alarms("acme") == []


def partner_alarms(partner_id: str) -> list[str]:
    found = aws("cloudwatch").describe_alarms(AlarmNamePrefix=f"{naming.prefix(STAGE)}-{partner_id}-")
    return sorted(a["AlarmName"].rsplit(f"{partner_id}-", 1)[1] for a in found["MetricAlarms"])


def stage_alarms() -> list[dict[str, Any]]:
    prefix = naming.stage_alarm(STAGE, "dlq-depth").removesuffix("dlq-depth")
    return list(aws("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"])


def test_the_stage_alarms_exist_once_after_two_creates(make_partner: Any) -> None:
    # GIVEN two partners created on a stage
    make_partner("acme")
    make_partner("globex")
    # WHEN the stage's alarms are listed
    alarms = {a["AlarmName"]: a for a in stage_alarms()}
    # THEN there are three, one per kind, each a Metrics Insights query grouped per queue or function
    assert sorted(alarms) == sorted(naming.stage_alarm(STAGE, kind) for kind in naming.ALARM_KINDS)
    ((query,),) = [
        [m["Expression"] for m in a["Metrics"]] for a in alarms.values() if "dlq" in a["AlarmName"]
    ]
    assert query == (
        'SELECT MAX(ApproximateNumberOfMessagesVisible) FROM SCHEMA("AWS/SQS", QueueName) '
        "WHERE QueueName LIKE 'hookrelay-test-%-dlq%' AND QueueName NOT IN ('hookrelay-test-results-dlq') "
        "GROUP BY QueueName ORDER BY MAX() DESC"
    )  # the results DLQ has an alarm of its own: one dead-lettered record must not fire two
    assert {a["AlarmActions"][0].rsplit(":", 1)[1] for a in alarms.values()} == {naming.alarm_topic(STAGE)}
    # AND no partner has alarms of its own
    assert partner_alarms("acme") == partner_alarms("globex") == []


def test_a_critical_partner_keeps_its_own_three_alarms_and_delete_removes_them(ctx: Provisioner) -> None:
    # GIVEN acme listed as a partner with its own alarms
    ctx.settings = ctx.settings.model_copy(update={"partner_alarms": ("acme",)})
    create_partner(ctx, PartnerCreate(partner_id="acme", url=URL))
    create_partner(ctx, PartnerCreate(partner_id="globex", url=URL))
    # THEN acme has its three single-metric alarms to the alarm topic, globex none
    assert partner_alarms("acme") == sorted(naming.ALARM_KINDS)
    assert partner_alarms("globex") == []
    assert len(tagged("acme")) == 8  # queue, DLQ, function, log group, secret, three alarms
    # WHEN acme is deleted, THEN its alarms go with it and the stage alarms stay
    deleted = delete_partner(ctx, "acme")
    assert [r for r in deleted.removed if r.startswith("alarm:")] == [
        f"alarm:{naming.partner_alarm(STAGE, 'acme', kind)}" for kind in sorted(naming.ALARM_KINDS)
    ]
    assert partner_alarms("acme") == []
    assert len(stage_alarms()) == 3


def test_role_policy_grants_only_the_partners_own_resources(make_partner: Any) -> None:
    # GIVEN a created partner
    make_partner("acme")
    # WHEN its role's inline policy is read
    iam = aws("iam")
    role = naming.partner_role(STAGE, "acme")
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    statements = {s["Sid"]: s for s in document["Statement"]}
    # THEN it consumes only its queue, sends to its queue and DLQ (not the results queue: issue 15), reads
    # only its secret
    assert statements["ConsumeOwnQueue"]["Resource"].endswith(":hookrelay-test-acme")
    sends = [arn.rsplit(":", 1)[1] for arn in statements["SendRetriesAndDeadLetters"]["Resource"]]
    assert sends == ["hookrelay-test-acme", "hookrelay-test-acme-dlq"]
    assert ":secret:hookrelay/test/acme/signing" in statements["OwnSigningSecret"]["Resource"]
    assert statements["OwnLogGroup"]["Resource"].endswith(":log-group:/aws/lambda/hookrelay-test-acme:*")


def test_create_then_delete_leaves_nothing_tagged_behind(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a created partner whose resources are tagged with its id
    make_partner("acme")
    assert len(tagged("acme")) == 5  # queue, DLQ, function, log group, secret
    # WHEN it is deleted
    deleted = delete_partner(ctx, "acme")
    # THEN nothing tagged remains, the role and the record are gone, and the report lists each removal
    assert tagged("acme") == []
    assert [r["RoleName"] for r in aws("iam").list_roles()["Roles"]] == []
    assert ctx.partners.find("acme") is None
    assert [r.split(":", 1)[0] for r in deleted.removed] == [
        "event-source-mapping", "function", "log-group", "role", "queue", "queue", "secret", "partner",
    ]  # fmt: skip


def test_delete_is_idempotent_and_unknown_partner_is_not_found(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner deleted once
    make_partner("acme")
    delete_partner(ctx, "acme")
    # WHEN it is deleted again, THEN nothing exists to remove: NotFound
    with pytest.raises(NotFound, match="acme"):
        delete_partner(ctx, "acme")


def test_create_after_a_failure_midway_finishes_the_job(ctx: Provisioner) -> None:
    # GIVEN creating stops after the function exists, when reserving its (opted-in) concurrency fails
    request = PartnerCreate(partner_id="acme", url=URL, reserved_concurrency=2)
    failing = Failing(aws("lambda"), "put_function_concurrency")
    ctx.clients.overrides["lambda"] = failing
    with pytest.raises(DependencyUnavailable, match="reserve concurrency"):
        create_partner(ctx, request)
    stopped = ctx.partners.get("acme")
    assert stopped.status is PartnerStatus.PROVISIONING
    assert stopped.last_error is not None
    assert "reserve concurrency" in stopped.last_error
    # WHEN create runs again (the injected failure has passed)
    created = create_partner(ctx, request)
    # THEN the partner is active, with the secret made by the first run, and one of each resource
    assert created.partner.status is PartnerStatus.ACTIVE
    assert created.partner.last_error is None
    stored = read_signing_keys(naming.partner_secret(STAGE, "acme"), aws("secretsmanager"))
    assert [k.secret.get_secret_value() for k in stored.keys] == [created.secret.get_secret_value()]
    live = naming.partner_function(STAGE, "acme") + ":live"
    mappings = aws("lambda").list_event_source_mappings(FunctionName=live)
    assert len(mappings["EventSourceMappings"]) == 1
    assert len(tagged("acme")) == 5
    assert failing.calls == 2


def test_create_waits_for_the_new_role_to_become_assumable(ctx: Provisioner) -> None:
    # GIVEN Lambda refuses the new role twice (IAM propagation), as on real AWS
    failing = Failing(aws("lambda"), "create_function", times=2, code="InvalidParameterValueException")
    ctx.clients.overrides["lambda"] = failing
    # WHEN the partner is created
    created = create_partner(ctx, PartnerCreate(partner_id="acme", url=URL))
    # THEN creation retried with backoff (1 s, then 2 s, on the injected sleep) and succeeded
    assert created.partner.status is PartnerStatus.ACTIVE
    assert failing.calls == 3
    assert ctx.clients.sleep.__self__ == [1.0, 2.0]  # type: ignore[attr-defined]


def test_create_of_an_existing_partner_conflicts(make_partner: Any) -> None:
    # GIVEN an active partner, WHEN it is created again, THEN Conflict (its secret is not shown again)
    make_partner("acme")
    with pytest.raises(Conflict, match="already exists"):
        make_partner("acme")


def test_create_without_a_handler_artifact_makes_nothing(ctx: Provisioner) -> None:
    # GIVEN no handler artifact pointer in the bucket
    aws("s3").delete_object(Bucket=ctx.settings.bucket, Key=naming.HANDLER_ARTIFACT_POINTER)
    # WHEN a partner is created, THEN it fails before making any resource
    with pytest.raises(DependencyUnavailable, match="upload the handler first"):
        create_partner(ctx, PartnerCreate(partner_id="acme", url=URL))
    assert tagged("acme") == []


def test_create_waits_for_the_new_policy_before_mapping_the_queue(ctx: Provisioner) -> None:
    # GIVEN Lambda refuses the mapping once (the role's queue permissions have not propagated)
    failing = Failing(aws("lambda"), "create_event_source_mapping", code="InvalidParameterValueException")
    ctx.clients.overrides["lambda"] = failing
    # WHEN the partner is created, THEN the mapping was retried after 1 s and exists once
    create_partner(ctx, PartnerCreate(partner_id="acme", url=URL))
    assert failing.calls == 2
    assert ctx.clients.sleep.__self__ == [1.0]  # type: ignore[attr-defined]
    live = naming.partner_function(STAGE, "acme") + ":live"
    mappings = aws("lambda").list_event_source_mappings(FunctionName=live)
    assert len(mappings["EventSourceMappings"]) == 1


def test_a_deleted_partner_can_be_created_again(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner created and deleted (its secret deleted without a recovery window)
    first = make_partner("acme").secret.get_secret_value()
    delete_partner(ctx, "acme")
    # WHEN it is created again, THEN it is active with a new secret and a full set of resources
    again = make_partner("acme")
    assert again.partner.status is PartnerStatus.ACTIVE
    assert again.secret.get_secret_value() != first
    assert len(tagged("acme")) == 5


def test_a_half_created_partner_refuses_changes_until_create_finishes(ctx: Provisioner) -> None:
    # GIVEN a create that stopped part way
    ctx.clients.overrides["lambda"] = Failing(aws("lambda"), "put_function_concurrency")
    with pytest.raises(DependencyUnavailable):
        create_partner(ctx, PartnerCreate(partner_id="acme", url=URL, reserved_concurrency=2))
    # WHEN it is enabled, published to or rotated, THEN Conflict says to run create again
    for change in (
        lambda: enable_partner(ctx, "acme"),
        lambda: ctx.publisher.publish("acme", PublishRequest(topic="t", payload={})),
        lambda: rotate_partner_secret(ctx, "acme"),
    ):
        with pytest.raises(Conflict, match="run create again"):
            change()
