"""The results queue's DLQ: a record the recorder can never write leaves after five receives, and waits.

The recorder is driven the way Lambda's poller drives it: real ``ReceiveMessage`` calls on the results
queue (moto), the event Lambda builds, the partial batch answer read as Lambda reads it, the records
not reported deleted. moto applies the redrive on receive, as SQS does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog, list_deliveries
from hookrelay.aws.clients import Clients
from hookrelay.models import AttemptRecord, Outcome
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.resources.shared import RESULTS_MAX_RECEIVES, ensure_shared
from hookrelay_local.lambda_runtime.events import reported_failures, sqs_event

from .conftest import REGION, SERVICES, STAGE, URL, aws


def attempt(partner_id: str, n: int) -> AttemptRecord:
    return AttemptRecord(
        webhook_id=f"msg_{n}", partner_id=partner_id, attempt=1, url=URL,
        at=datetime(2026, 11, 23, tzinfo=UTC), outcome=Outcome.DELIVERED, status_code=204,
    )  # fmt: skip


class RefusesPartner:
    """A DynamoDB client whose put_item always fails for one partner's items (a record never written)."""

    def __init__(self, real: Any, partner_id: str) -> None:
        self.real, self.partner_id = real, partner_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def put_item(self, **kwargs: Any) -> Any:
        if kwargs["Item"]["partner_id"]["S"] == self.partner_id:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "refused"}}, "PutItem")
        return self.real.put_item(**kwargs)


def queue(name: str) -> tuple[str, str]:
    url = aws("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    arn = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def poll_once(app_module: ModuleType, url: str, arn: str) -> int:
    """One poll of Lambda's: receive, invoke record_results, delete what it did not report failed."""
    sqs = aws("sqs")
    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
    ).get("Messages", [])
    if not received:
        return 0
    with Client(app_module.app) as client:
        answer = client.lambda_.invoke("record_results", sqs_event(received, arn, REGION)).payload
    failed = reported_failures(answer, [m["MessageId"] for m in received])
    for message in received:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return len(received)


def test_a_record_never_written_ends_in_the_results_dlq_after_five_receives(
    ctx: Provisioner, app_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the results queue holding two attempt records, one of which can never be written
    ctx.clients.overrides["dynamodb"] = RefusesPartner(aws("dynamodb"), "poison")
    log = AttemptLog(STAGE, clients=ctx.clients)
    monkeypatch.setattr(app_module, "attempt_log", lambda: log)
    url, arn = queue(naming.results_queue(STAGE))
    dlq_url, _ = queue(naming.results_dead_letter_queue(STAGE))
    for record in (attempt("acme", 1), attempt("poison", 2)):
        aws("sqs").send_message(QueueUrl=url, MessageBody=record.model_dump_json())
    # WHEN Lambda polls the queue until nothing is left on it
    polls = [poll_once(app_module, url, arn) for _ in range(RESULTS_MAX_RECEIVES + 2)]
    # THEN the good record was written once, at the first poll, and the poison one came back alone
    assert list_deliveries(log, "acme").items == [attempt("acme", 1)]
    assert polls == [2, 1, 1, 1, 1, 0, 0]
    # AND after its five receives it waits in the results DLQ, unchanged; the results queue is empty
    moved = aws("sqs").receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [AttemptRecord.model_validate_json(m["Body"]) for m in moved] == [attempt("poison", 2)]
    counts = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )


def test_an_existing_results_queue_without_redrive_gets_one_on_the_next_ensure_shared(moto_aws: None) -> None:
    # GIVEN a results queue as ensure_shared made it before it had a DLQ (14 days, no redrive)
    name = naming.results_queue("old")
    aws("sqs").create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "1209600"})
    # WHEN ensure_shared runs again
    ensure_shared("old", Clients(overrides={s: aws(s) for s in SERVICES}))
    # THEN the same queue redrives to the results DLQ after five receives, with a visibility of 360 s
    url, _ = queue(name)
    _, dlq_arn = queue(naming.results_dead_letter_queue("old"))
    attributes = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    assert (attributes["VisibilityTimeout"], attributes["MessageRetentionPeriod"]) == ("360", "1209600")
    # AND running it once more changes nothing of that
    ensure_shared("old", Clients(overrides={s: aws(s) for s in SERVICES}))
    again = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert again["RedrivePolicy"] == attributes["RedrivePolicy"]


def test_the_results_dlq_depth_alarm_notifies_the_alarm_topic(ctx: Provisioner) -> None:
    # GIVEN the shared resources of a stage (the ctx fixture ran ensure_shared)
    topic = aws("sns").create_topic(Name=naming.alarm_topic(STAGE))["TopicArn"]
    # WHEN the results DLQ's alarm is read back
    (alarm,) = aws("cloudwatch").describe_alarms(AlarmNames=[naming.results_dlq_alarm(STAGE)])["MetricAlarms"]
    # THEN it fires on any visible message in the results DLQ, to the alarm topic, and says OK after
    assert alarm["AlarmName"] == "hookrelay-test-results-dlq-depth"
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
    )
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "hookrelay-test-results-dlq"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0.0, "GreaterThanThreshold")
    assert (alarm["AlarmActions"], alarm["OKActions"]) == ([topic], [topic])


def test_the_alarm_failures_queue_keeps_dropped_alarms_14_days_and_is_watched(ctx: Provisioner) -> None:
    # GIVEN the shared resources of a stage, WHEN alarm-to-slack's on-failure queue and its alarm are read
    url, _ = queue(naming.alarm_failures_queue(STAGE))
    attributes = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    (alarm,) = aws("cloudwatch").describe_alarms(AlarmNames=[naming.alarm_failures_alarm(STAGE)])[
        "MetricAlarms"
    ]
    topic = aws("sns").create_topic(Name=naming.alarm_topic(STAGE))["TopicArn"]
    # THEN the queue is hookrelay-test-alarm-failures, keeping messages 14 days, with no redrive of its own
    assert url.endswith("/hookrelay-test-alarm-failures")
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert "RedrivePolicy" not in attributes
    # AND any message on it raises an alarm to the topic (named as a dlq-depth alarm of no partner)
    assert alarm["AlarmName"] == "hookrelay-test-alarm-failures-dlq-depth"
    assert naming.partner_from_name(alarm["AlarmName"]) is None
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "hookrelay-test-alarm-failures"}]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible",
        0.0,
        "GreaterThanThreshold",
    )
    assert (alarm["AlarmActions"], alarm["OKActions"]) == ([topic], [topic])


def test_the_shared_resources_give_the_stage_one_console_token_that_later_deploys_keep(
    ctx: Provisioner,
) -> None:
    # GIVEN a stage whose shared resources were made once (the ctx fixture ran ensure_shared)
    secret_id = naming.console_secret(ctx.stage)
    first = aws("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    # WHEN ensure_shared runs again (the next deploy)
    ensure_shared(ctx.stage, ctx.clients)
    # THEN the console has a login from the first deploy on: a long random token, kept as it was
    assert len(first) >= 40
    assert aws("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"] == first
