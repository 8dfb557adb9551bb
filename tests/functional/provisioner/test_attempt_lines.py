"""Attempt lines reach the recorder (issue 15): each partner's log group is subscribed to the stage's
recorder at create, removed with the log group at delete, ensured once by a rollout for a partner made
before; the recorder may be invoked by CloudWatch Logs for the stage's partner log groups only, and what
it cannot record goes to the results DLQ."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from hookrelay import naming
from hookrelay.attempts.lines import DATA_MESSAGE, FILTER_NAME, FILTER_PATTERN, LogsBatch, encode
from hookrelay.attempts.log import AttemptLog, AttemptsNotRecorded, list_deliveries
from hookrelay.errors import DependencyUnavailable
from hookrelay.models import AttemptRecord, Outcome
from hookrelay.partners.model import PartnerCreate
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.lifecycle import create_partner, delete_partner
from hookrelay.provisioning.resources.attempt_filter import (
    MAX_RETRIES,
    ensure_recorder_wiring,
    recorder_function,
)
from hookrelay.provisioning.resources.queues import find_queue_url, queue_arn

from .conftest import STAGE, URL, Failing, aws, upload_artifact
from .test_rollout_async import rollout


def filters(partner_id: str) -> list[dict[str, Any]]:
    group = naming.partner_log_group(STAGE, partner_id)
    return list(aws("logs").describe_subscription_filters(logGroupName=group)["subscriptionFilters"])


def recorder_arn() -> str:
    function = aws("lambda").get_function(FunctionName=recorder_function(STAGE))
    return str(function["Configuration"]["FunctionArn"])


def test_create_subscribes_the_partners_log_group_to_the_recorder(make_partner: Any) -> None:
    # GIVEN a stage whose recorder exists, WHEN a partner is created
    created = make_partner("acme")
    # THEN its log group has one subscription filter: the attempt mark, to the stage's recorder
    (only,) = filters("acme")
    assert (only["filterName"], only["filterPattern"]) == (FILTER_NAME, FILTER_PATTERN)
    assert only["destinationArn"] == recorder_arn()
    assert FILTER_PATTERN == '{ $.record = "attempt" }'
    # AND the partner is marked subscribed (a rollout makes no call for it)
    assert created.partner.attempt_filter_at is not None


def test_the_handler_function_logs_plain_text_lines() -> None:
    # GIVEN the configuration create and update give a partner function
    from hookrelay.provisioning.resources.function import FunctionSpec

    spec = FunctionSpec("f", "role", "bucket", "key", 30, {}, "python3.11", 256, {})
    # THEN its lines reach the log group as the handler writes them (JSON objects the filter reads), not
    # wrapped in Lambda's JSON log format
    assert spec.configuration()["LoggingConfig"] == {"LogFormat": "Text"}


def test_delete_removes_the_filter_with_the_log_group(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a created partner, WHEN it is deleted
    make_partner("acme")
    deleted = delete_partner(ctx, "acme")
    # THEN its log group is gone, and with it the filter
    assert f"log-group:{naming.partner_log_group(STAGE, 'acme')}" in deleted.removed
    with pytest.raises(ClientError) as raised:
        filters("acme")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_create_without_a_recorder_makes_nothing(ctx: Provisioner) -> None:
    # GIVEN a stage whose recorder was never deployed
    aws("lambda").delete_function(FunctionName=recorder_function(STAGE))
    # WHEN a partner is created, THEN it stops with a clear 503-class error before any resource is made
    with pytest.raises(DependencyUnavailable, match="record_attempt_lines does not exist"):
        create_partner(ctx, PartnerCreate(partner_id="acme", url=URL))
    assert (
        aws("logs").describe_log_groups(logGroupNamePrefix=naming.partner_log_group(STAGE, "acme"))[
            "logGroups"
        ]
        == []
    )
    assert find_queue_url(naming.partner_queue(STAGE, "acme"), ctx.clients) is None


def test_a_rollout_subscribes_a_partner_made_before_attempt_lines_once(
    ctx: Provisioner, make_partner: Any, http: Any, aws_calls: list[str]
) -> None:
    # GIVEN a partner made before attempt lines: no filter on its log group, no mark on its item
    make_partner("old")
    group = naming.partner_log_group(STAGE, "old")
    aws("logs").delete_subscription_filter(logGroupName=group, filterName=FILTER_NAME)
    ctx.partners.put(ctx.partners.get("old").touched(attempt_filter_at=None))
    make_partner("new")
    # WHEN update-code rolls a new handler out
    upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    aws_calls.clear()
    status, done = rollout(http)
    # THEN both moved; old's log group was subscribed (one PutSubscriptionFilter: new already was) and marked
    assert (status, done["succeeded"], done["failed"]) == (200, 2, 0)
    assert [f["destinationArn"] for f in filters("old")] == [recorder_arn()]
    assert aws_calls.count("logs:PutSubscriptionFilter") == 1
    assert ctx.partners.get("old").attempt_filter_at is not None
    # WHEN another build is rolled out
    upload_artifact(aws("s3"), ctx.settings.bucket, "third = 3")
    aws_calls.clear()
    status, done = rollout(http)
    # THEN no partner costs a CloudWatch Logs call any more
    assert (status, done["succeeded"]) == (200, 2)
    assert [c for c in aws_calls if c.startswith("logs:")] == []


def test_the_recorder_may_be_invoked_by_cloudwatch_logs_for_the_stages_partner_log_groups(
    ctx: Provisioner,
) -> None:
    # GIVEN the stage's recorder, WHEN its wiring is ensured twice (deploy and bootstrap are reruns)
    ensure_recorder_wiring(STAGE, ctx.clients)
    arn = ensure_recorder_wiring(STAGE, ctx.clients)
    # THEN its resource policy has ONE statement, whatever the partners: logs.amazonaws.com may invoke it
    # for any log group of the stage's partner functions, from this account
    policy = json.loads(aws("lambda").get_policy(FunctionName=recorder_function(STAGE))["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "logs.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/hookrelay-test-*:*"
    )
    assert statement["Condition"]["StringEquals"]["AWS:SourceAccount"] == "123456789012"
    # AND a batch of lines it cannot record goes, after Lambda's two retries, to the results DLQ
    config = aws("lambda").get_function_event_invoke_config(FunctionName=arn)
    dlq = queue_arn(find_queue_url(naming.results_dead_letter_queue(STAGE), ctx.clients) or "", ctx.clients)
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == dlq
    assert config["MaximumRetryAttempts"] == MAX_RETRIES == 2


def _event(record: AttemptRecord, partner_id: str = "acme") -> dict[str, Any]:
    """What CloudWatch Logs invokes the recorder with: one marked line of ``partner_id``'s log group."""
    message = json.dumps({"level": "INFO", **record.model_dump(mode="json"), "record": "attempt"})
    batch = LogsBatch.model_validate(
        {
            "messageType": DATA_MESSAGE,
            "logGroup": naming.partner_log_group(STAGE, partner_id),
            "logEvents": [{"id": "1", "timestamp": 1, "message": message}],
        }
    )
    return encode(batch)


def test_the_app_records_a_subscription_events_lines_and_raises_when_it_cannot(
    ctx: Provisioner, app_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the provisioner app's recorder writing to this stage's attempt log
    log = AttemptLog(STAGE, clients=ctx.clients)
    monkeypatch.setattr(app_module, "attempt_log", lambda: log)
    monkeypatch.setattr(app_module, "provisioner", lambda: ctx)
    record = AttemptRecord(
        webhook_id="msg_1", partner_id="acme", attempt=1, url=URL,
        at=datetime(2026, 12, 1, tzinfo=UTC), outcome=Outcome.DELIVERED, status_code=204,
    )  # fmt: skip
    # WHEN a subscription event with one marked line of acme's log group reaches record_attempt_lines
    with Client(app_module.app) as client:
        answer = client.lambda_.invoke("record_attempt_lines", _event(record))
    # THEN the attempt is in the deliveries table
    assert answer.payload == {"recorded": 1}
    assert list_deliveries(log, "acme").items == [record]
    # WHEN the table refuses the next write
    ctx.clients.overrides["dynamodb"] = Failing(aws("dynamodb"), "put_item")
    other = record.model_copy(update={"webhook_id": "msg_2"})
    # THEN the invocation fails (Lambda retries it, then keeps it in the results DLQ)
    with Client(app_module.app) as client, pytest.raises(AttemptsNotRecorded):
        client.lambda_.invoke("record_attempt_lines", _event(other))
