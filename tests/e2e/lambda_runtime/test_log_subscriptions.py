"""CloudWatch Logs subscriptions to Lambda, as the local runtime emulates them: the lines a function logs
while it runs reach its log group's subscribed function when they match the filter; a destination that
keeps failing has the event retried twice, then sent to its on-failure destination."""

from __future__ import annotations

import io
import json
import logging
import threading
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from hookrelay.attempts import lines
from hookrelay_local.lambda_runtime.invokers import FunctionConfig
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime, local_client
from tests.support.lambda_runtime import ROLE_ARN, LocalAws, create_partner, wait_for

pytestmark = pytest.mark.e2e
EMIT = "stub.emit"
RECORD = "stub.record"
emitting = logging.getLogger("tests.stub.handler")
emitting.setLevel(logging.INFO)  # as the handler's attempt logger is pinned (whatever the root's level)


def emit(event: dict[str, Any], _: FunctionConfig) -> None:
    """A handler logging, per record: one marked line (in a thread of its context, as the handler's
    delivery pool runs) and one unmarked line."""
    for record in event["Records"]:
        body = record["body"]
        context = __import__("contextvars").copy_context()
        worker = threading.Thread(
            target=context.run,
            args=(emitting.info, "attempt"),
            kwargs={"extra": {"record": "attempt", "body": body}},
        )
        worker.start()
        worker.join()
        emitting.info("not an attempt", extra={"body": body, "record": "other"})


class Recorder:
    """A destination function's stub: what each invocation was given, failing while ``fail`` is set."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.events: list[lines.LogsBatch] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], _: FunctionConfig) -> None:
        with self.lock:
            self.events.append(lines.decode(event))
        if self.fail:
            raise RuntimeError("cannot record")

    def messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(e.message) for batch in self.events for e in batch.log_events]


def subscribed_partner(local_aws: LocalAws, pattern: str = lines.FILTER_PATTERN) -> tuple[str, str]:
    """A partner whose function runs EMIT, its log group subscribed to a function running RECORD;
    (the partner's queue URL, the recorder's ARN)."""
    partner = create_partner(local_aws, "subs", "http://127.0.0.1:9/x", handler=EMIT)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "")
    recorder = local_aws.lambda_.create_function(
        FunctionName="recorder", Runtime="python3.11", Role=ROLE_ARN, Handler=RECORD,
        Code={"ZipFile": buffer.getvalue()},
    )["FunctionArn"]  # fmt: skip
    logs = local_client("logs", local_aws.endpoint_url, local_aws.region)
    group = f"/aws/lambda/{partner.function_name}"
    logs.create_log_group(logGroupName=group)
    logs.put_subscription_filter(
        logGroupName=group, filterName=lines.FILTER_NAME, filterPattern=pattern, destinationArn=recorder
    )
    return partner.queue_url, recorder


def test_marked_lines_reach_the_subscribed_function_and_unmarked_ones_do_not(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime]
) -> None:
    # GIVEN a function whose log group is subscribed with the attempt filter, and the runtime running it
    queue_url, _ = subscribed_partner(local_aws)
    recorder = Recorder()
    runtime = start_runtime(invokers={EMIT: emit, RECORD: recorder})
    # WHEN three messages are handled (each logs a marked and an unmarked line)
    for n in range(3):
        local_aws.sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{n}")
    wait_for(lambda: len(recorder.messages()) == 3, 10.0, 0.05)
    # THEN the recorder got the three marked lines, as the JSON formatter writes them, and nothing else
    messages = recorder.messages()
    assert sorted(m["body"] for m in messages) == ["m0", "m1", "m2"]
    assert {(m["record"], m["message"], m["level"], m["service"]) for m in messages} == {
        ("attempt", "attempt", "INFO", "handler")
    }
    # AND each event is what CloudWatch Logs sends: the group, the filter, a data message
    batch = recorder.events[0]
    assert (batch.message_type, batch.log_group) == (lines.DATA_MESSAGE, "/aws/lambda/subs-handler")
    assert batch.subscription_filters == [lines.FILTER_NAME]
    assert runtime.subscriptions is not None
    assert runtime.subscriptions.counters.failed == 0


def test_a_failing_destination_is_retried_twice_then_its_event_waits_in_the_on_failure_queue(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime]
) -> None:
    # GIVEN a subscribed function whose recorder always fails, with an on-failure destination queue
    queue_url, recorder_arn = subscribed_partner(local_aws)
    dlq = local_aws.sqs.create_queue(QueueName="results-dlq")["QueueUrl"]
    dlq_arn = local_aws.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    local_aws.lambda_.put_function_event_invoke_config(
        FunctionName=recorder_arn,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    recorder = Recorder(fail=True)
    start_runtime(invokers={EMIT: emit, RECORD: recorder})
    # WHEN a message is handled
    local_aws.sqs.send_message(QueueUrl=queue_url, MessageBody="lost?")
    # THEN the recorder is invoked three times with the same lines, then Lambda's record of the failed
    # invocation, holding the event, lands in the on-failure queue
    received: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        received.extend(local_aws.sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages", []))
        return bool(received)

    wait_for(dead_lettered, 15.0, 0.1)
    assert len(recorder.events) == 3
    assert len({e.model_dump_json() for e in recorder.events}) == 1
    body = json.loads(received[0]["Body"])
    assert body["requestContext"]["condition"] == "RetriesExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 3
    assert body["responsePayload"] == {"errorMessage": "cannot record", "errorType": "RuntimeError"}
    kept = lines.decode(body["requestPayload"])
    assert [json.loads(e.message)["body"] for e in kept.log_events] == ["lost?"]


def test_an_unsupported_pattern_delivers_nothing_and_is_said(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a log group subscribed with a pattern the runtime does not emulate (a term match)
    queue_url, _ = subscribed_partner(local_aws, pattern="ERROR")
    recorder = Recorder()
    runtime = start_runtime(invokers={EMIT: emit, RECORD: recorder})
    # WHEN a message is handled
    caplog.set_level(logging.WARNING, "hookrelay_local.lambda_runtime.log_subscriptions")
    local_aws.sqs.send_message(QueueUrl=queue_url, MessageBody="m")
    wait_for(lambda: runtime.totals().records == 1, 10.0, 0.05)
    runtime.stop(timeout_s=5)
    # THEN nothing was delivered, and the runtime said why
    assert recorder.events == []
    assert any("is not emulated locally" in r.getMessage() for r in caplog.records)
