"""Lambda's SQS semantics in the local runtime, with stub functions for exact control (moto server)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import pytest

from hookrelay_local.lambda_runtime.invokers import FunctionConfig
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime
from hookrelay_local.lambda_runtime.stats import BatchOutcome
from tests.support.lambda_runtime import (
    LocalAws,
    Reports,
    create_partner,
    queue_counts,
    send_bodies,
    wait_for,
)

pytestmark = pytest.mark.e2e

STUB = "stub.handle"


class Stub:
    """A function whose answer to the n-th invocation is ``answers[n]`` (an exception is raised)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], function: FunctionConfig) -> Any:
        with self._lock:
            self.events.append(event)
            answer = self.answers[min(len(self.events), len(self.answers)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        return answer(event) if callable(answer) else answer

    def ids(self, n: int) -> list[str]:
        return [r["messageId"] for r in self.events[n]["Records"]]

    def receive_counts(self, n: int) -> list[str]:
        return [r["attributes"]["ApproximateReceiveCount"] for r in self.events[n]["Records"]]


def fail_bodies_starting_with_fail(event: dict[str, Any]) -> dict[str, Any]:
    failed = [r["messageId"] for r in event["Records"] if r["body"].startswith("fail")]
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed]}


@pytest.fixture
def run_stub(
    start_runtime: Callable[..., LocalLambdaRuntime],
) -> Callable[[Stub], tuple[LocalLambdaRuntime, Reports]]:
    """Run the runtime with ``stub`` as the function behind the ``stub.handle`` Handler."""

    def start(stub: Stub) -> tuple[LocalLambdaRuntime, Reports]:
        reports = Reports()
        return start_runtime(invokers={STUB: stub}, on_invocation=reports), reports

    return start


def test_the_event_is_shaped_like_lambdas(
    local_aws: LocalAws, run_stub: Callable[[Stub], tuple[LocalLambdaRuntime, Reports]]
) -> None:
    # GIVEN a message with a message attribute
    partner = create_partner(local_aws, "shape", "http://127.0.0.1:9/x", handler=STUB)
    sent = local_aws.sqs.send_message(
        QueueUrl=partner.queue_url,
        MessageBody='{"hello": 1}',
        MessageAttributes={"Kind": {"DataType": "String", "StringValue": "test"}},
    )
    stub = Stub(None)

    # WHEN the runtime invokes the function
    _runtime, reports = run_stub(stub)
    wait_for(reports.snapshot)

    # THEN it got one Lambda SQS record with the message's data
    (record,) = stub.events[0]["Records"]
    assert {k: record[k] for k in ("messageId", "body", "eventSource", "eventSourceARN", "awsRegion")} == {
        "messageId": sent["MessageId"],
        "body": '{"hello": 1}',
        "eventSource": "aws:sqs",
        "eventSourceARN": partner.queue_arn,
        "awsRegion": "us-east-1",
    }
    assert record["md5OfBody"] == hashlib.md5(b'{"hello": 1}').hexdigest()  # noqa: S324 - SQS's own digest
    assert record["receiptHandle"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp", "SenderId"} <= set(record["attributes"])
    assert record["messageAttributes"] == {
        "Kind": {"stringValue": "test", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }


def test_partial_batch_response_deletes_exactly_the_unreported_records(
    local_aws: LocalAws, run_stub: Callable[[Stub], tuple[LocalLambdaRuntime, Reports]]
) -> None:
    # GIVEN five messages, two of which the function reports as failed the first time
    partner = create_partner(local_aws, "partial", "http://127.0.0.1:9/x", handler=STUB, visibility_timeout=1)
    ids = send_bodies(local_aws, partner.queue_url, ["ok-1", "fail-1", "ok-2", "fail-2", "ok-3"])
    stub = Stub(fail_bodies_starting_with_fail, None)

    # WHEN the runtime runs, and the failed records come back after the visibility timeout
    runtime, reports = run_stub(stub)
    wait_for(lambda: len(reports.snapshot()) == 2)

    # THEN the first batch deleted the three others, the second held only the two failed, now deleted
    first, second = reports.snapshot()
    assert (first.outcome, sorted(first.deleted)) == (BatchOutcome.PARTIAL, sorted([ids[0], ids[2], ids[4]]))
    assert (sorted(stub.ids(1)), stub.receive_counts(1)) == (sorted([ids[1], ids[3]]), ["2", "2"])
    assert (second.outcome, sorted(second.deleted)) == (BatchOutcome.SUCCESS, sorted([ids[1], ids[3]]))
    assert queue_counts(local_aws, partner.queue_url) == (0, 0)
    assert (runtime.totals().records, runtime.totals().deleted, runtime.totals().failed) == (7, 5, 2)


@pytest.mark.parametrize(
    "answer",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"messageId": "wrong key"}]},
        {"batchItemFailures": "everything"},
        "not an object",
    ],
    ids=["unknown-id", "empty-id", "wrong-key", "not-a-list", "not-an-object"],
)
def test_an_invalid_partial_batch_response_fails_the_whole_batch(
    local_aws: LocalAws, run_stub: Callable[[Stub], tuple[LocalLambdaRuntime, Reports]], answer: Any
) -> None:
    # GIVEN a function that answers with an invalid partial batch response
    partner = create_partner(
        local_aws, "invalid", "http://127.0.0.1:9/x", handler=STUB, visibility_timeout=30
    )
    ids = send_bodies(local_aws, partner.queue_url, ["a", "b"])

    # WHEN the runtime runs the batch
    _runtime, reports = run_stub(Stub(answer))
    report = wait_for(reports.snapshot)[0]

    # THEN nothing was deleted: both records stay (in flight until the visibility timeout)
    assert (report.outcome, report.deleted, sorted(report.kept)) == (
        BatchOutcome.INVALID_RESPONSE,
        (),
        sorted(ids),
    )
    assert queue_counts(local_aws, partner.queue_url) == (0, 2)


def test_without_report_batch_item_failures_the_batch_is_all_or_nothing(
    local_aws: LocalAws, run_stub: Callable[[Stub], tuple[LocalLambdaRuntime, Reports]]
) -> None:
    # GIVEN a mapping without ReportBatchItemFailures, and a function that reports one failure anyway
    partner = create_partner(local_aws, "plain", "http://127.0.0.1:9/x", handler=STUB, report_failures=False)
    ids = send_bodies(local_aws, partner.queue_url, ["ok", "fail"])

    # WHEN the function returns normally
    _runtime, reports = run_stub(Stub(fail_bodies_starting_with_fail))
    report = wait_for(reports.snapshot)[0]

    # THEN its answer is ignored: the invocation succeeded, every record is deleted
    assert (report.outcome, sorted(report.deleted)) == (BatchOutcome.SUCCESS, sorted(ids))
    assert queue_counts(local_aws, partner.queue_url) == (0, 0)


@pytest.mark.parametrize(
    ("first_answer", "timeout", "outcome"),
    [
        (RuntimeError("boom"), 10, BatchOutcome.ERROR),
        (lambda _event: threading.Event().wait(1.5), 1, BatchOutcome.TIMEOUT),
    ],
    ids=["exception", "timeout"],
)
def test_a_failed_invocation_deletes_nothing_and_the_batch_reappears(
    local_aws: LocalAws,
    run_stub: Callable[[Stub], tuple[LocalLambdaRuntime, Reports]],
    first_answer: Any,
    timeout: int,
    outcome: BatchOutcome,
) -> None:
    # GIVEN a function that raises (or runs past its Timeout) once, then succeeds
    partner = create_partner(
        local_aws, "flaky", "http://127.0.0.1:9/x", handler=STUB, visibility_timeout=2, timeout=timeout
    )
    ids = send_bodies(local_aws, partner.queue_url, ["a", "b", "c"])
    stub = Stub(first_answer, None)

    # WHEN the runtime runs until every record has been retried and deleted
    _runtime, reports = run_stub(stub)
    wait_for(lambda: sorted(d for r in reports.snapshot()[1:] for d in r.deleted) == sorted(ids))

    # THEN the first invocation deleted nothing, and the same records came back after the visibility
    # timeout, each received a second time (SQS may return them in one batch or, under load, in several)
    first, *retries = reports.snapshot()
    assert (first.outcome, first.deleted, sorted(first.kept)) == (outcome, (), sorted(ids))
    again = [
        (i, c)
        for n in range(1, len(stub.events))
        for i, c in zip(stub.ids(n), stub.receive_counts(n), strict=True)
    ]
    assert sorted(again) == sorted((i, "2") for i in ids)
    assert {r.outcome for r in retries} == {BatchOutcome.SUCCESS}


def test_the_queues_redrive_policy_moves_a_failing_message_to_its_dlq(
    local_aws: LocalAws, run_stub: Callable[[Stub], tuple[LocalLambdaRuntime, Reports]]
) -> None:
    # GIVEN a queue that dead-letters after 2 receives, and a function that always fails
    partner = create_partner(
        local_aws, "doomed", "http://127.0.0.1:9/x", handler=STUB, visibility_timeout=1, max_receive_count=2
    )
    (message_id,) = send_bodies(local_aws, partner.queue_url, ["poison"])
    stub = Stub(RuntimeError("always"))

    # WHEN the runtime keeps polling
    runtime, _reports = run_stub(stub)
    wait_for(lambda: queue_counts(local_aws, partner.dlq_url)[0] == 1)

    # THEN the function saw it exactly twice, then SQS moved it to the DLQ (nothing copied, nothing lost)
    assert [stub.ids(n) for n in range(len(stub.events))] == [[message_id], [message_id]]
    assert [stub.receive_counts(n) for n in range(2)] == [["1"], ["2"]]
    assert queue_counts(local_aws, partner.queue_url) == (0, 0)
    dead = local_aws.sqs.receive_message(QueueUrl=partner.dlq_url)["Messages"]
    assert [(m["MessageId"], m["Body"]) for m in dead] == [(message_id, "poison")]
    assert runtime.totals().deleted == 0


def test_a_crash_in_the_runtime_itself_keeps_the_messages_and_frees_the_slot(
    local_aws: LocalAws,
    run_stub: Callable[[Stub], tuple[LocalLambdaRuntime, Reports]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a partner with concurrency 2, and a runtime whose deleting crashes on its first two batches
    from hookrelay_local.lambda_runtime import poller as lambda_runtime_poller

    partner = create_partner(
        local_aws, "crash", "http://127.0.0.1:9/x", handler=STUB, visibility_timeout=1, maximum_concurrency=2
    )
    real = lambda_runtime_poller.MappingPoller._delete
    crashes = [2]

    def crashing(self: Any, *args: Any) -> Any:
        if crashes[0] > 0:
            crashes[0] -= 1
            raise RuntimeError("runtime bug")
        return real(self, *args)

    monkeypatch.setattr(lambda_runtime_poller.MappingPoller, "_delete", crashing)
    send_bodies(local_aws, partner.queue_url, ["one"])
    stub = Stub(None)
    # WHEN the runtime runs
    _runtime, reports = run_stub(stub)
    # THEN the message comes back after each crash, and the third batch (both slots were lost to
    # crashes before the fix) delivers and deletes it
    wait_for(lambda: len(reports.snapshot()) == 1)
    assert len(stub.events) == 3
    assert queue_counts(local_aws, partner.queue_url) == (0, 0)
