"""The phased batch (hookrelay.delivery.phased): an unpaced standard batch does each record's
CPU work (admit, sign, classify, decide, settle, the log line) on the invoking thread, and a first batch
(no connection to the partner open yet) its POSTs on the delivery threads (later batches send them from
the invoking thread: test_handler_posting); a crash in any phase fails its record alone.

Against moto SQS/Secrets Manager and a real HTTP server on 127.0.0.1, with a transport that records
the thread of every POST.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hookrelay.delivery import phased as dispatch
from hookrelay.delivery.attempt import Exchanged, PreparedRequest
from hookrelay.delivery.batch import handle_batch
from hookrelay.delivery.report import ATTEMPT_LOGGER
from hookrelay.delivery.transport import PinnedTransport
from hookrelay.models import DeliveryState
from hookrelay.signing.standard import HEADER_ID
from hookrelay_local.partner_server import PartnerServer, Reply, always
from tests.support.handler_stack import NOW, PartnerStack, build_partner_stack
from tests.support.sqs import sqs_event

Events = list[tuple[str, str, int]]  # (phase, webhook id, thread id), in the order they happened


class RecordingTransport(PinnedTransport):
    """The real pinned transport; notes each POST (its webhook id and thread) in ``events``, and
    raises ``crash_on``'s error for that webhook id instead of posting it."""

    def __init__(self, allowed: Any, events: Events, crash_on: str | None = None) -> None:
        super().__init__(allowed, pool_size=5)
        self.events, self.crash_on = events, crash_on

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: Any) -> Any:
        webhook_id = headers[HEADER_ID]
        self.events.append(("post", webhook_id, threading.get_ident()))
        if webhook_id == self.crash_on:
            raise ValueError("transport bug")
        return super().post(url, body, headers, timeout)


@pytest.fixture
def phased_stack(
    sqs: Any,
    secretsmanager: Any,
    partner_server: Callable[..., PartnerServer],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., tuple[PartnerStack, PartnerServer, Events]]:
    """(a partner's stack posting through a RecordingTransport, its server, the events noted): the
    prepare and classify phases note themselves too."""

    def make(crash_on: str | None = None) -> tuple[PartnerStack, PartnerServer, Events]:
        events: Events = []
        server = partner_server(always(Reply()))
        stack = build_partner_stack(sqs, secretsmanager, server.url, post_concurrency=5, max_receive_count=5)
        stack.deps.transport = RecordingTransport(stack.deps.transport.allowed, events, crash_on)
        real_prepare, real_classify = dispatch.prepare_request, dispatch.classify

        def prepare(message: Any, *args: Any) -> PreparedRequest:
            events.append(("prepare", message.id, threading.get_ident()))
            return real_prepare(message, *args)

        def classify(request: PreparedRequest, answer: Exchanged, cap: int) -> Any:
            events.append(("classify", request.headers[HEADER_ID], threading.get_ident()))
            return real_classify(request, answer, cap)

        monkeypatch.setattr(dispatch, "prepare_request", prepare)
        monkeypatch.setattr(dispatch, "classify", classify)
        return stack, server, events

    return make


def failures(response: dict[str, list[dict[str, str]]]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def test_the_posts_run_on_the_delivery_threads_and_everything_else_on_the_invoking_thread(
    phased_stack: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an unpaced partner posting 5 at a time, and a batch of four webhooks
    stack, server, events = phased_stack()
    ids = [f"msg_{i}" for i in range(4)]
    event = sqs_event([stack.message(id=i).to_sqs_body() for i in ids])
    # WHEN the batch is handled
    with caplog.at_level(logging.INFO, logger="hookrelay.delivery.report"):
        assert failures(handle_batch(event, stack.deps)) == []
    # THEN every webhook was prepared (signed) first, then posted, then classified: phase by phase
    assert [phase for phase, _, _ in events] == ["prepare"] * 4 + ["post"] * 4 + ["classify"] * 4
    assert sorted(i for phase, i, _ in events if phase == "post") == ids
    # AND no POST ran on the invoking thread; the signing and classifying all did
    here = threading.get_ident()
    assert {thread for phase, _, thread in events if phase == "post"}.isdisjoint({here})
    assert {thread for phase, _, thread in events if phase != "post"} == {here}
    # AND each attempt's log line was written on the invoking thread (with its contextvars)
    lines = [r for r in caplog.records if r.getMessage() == "delivery attempt"]
    assert sorted(r.__dict__["webhook_id"] for r in lines) == ids
    assert {r.thread for r in lines} == {here}
    assert server.count == 4
    assert sorted(r["webhook_id"] for r in stack.results()) == ids


def test_a_crash_while_classifying_one_answer_fails_that_record_alone(
    phased_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a batch of three, and a classify phase that crashes on the second webhook's answer
    stack, server, _ = phased_stack()
    recording_classify = dispatch.classify

    def classify(request: PreparedRequest, answer: Exchanged, cap: int) -> Any:
        if request.headers[HEADER_ID] == "msg_bad":
            raise RuntimeError("classify bug")
        return recording_classify(request, answer, cap)

    monkeypatch.setattr(dispatch, "classify", classify)
    bodies = [stack.message(id=i).to_sqs_body() for i in ("msg_a", "msg_bad", "msg_c")]
    event = sqs_event(bodies)
    # WHEN the batch is handled
    response = handle_batch(event, stack.deps)
    # THEN that record alone is reported failed (SQS shows it again); the other two are delivered
    assert failures(response) == [event["Records"][1]["messageId"]]
    assert server.count == 3  # the crash came after its POST: the retry may repeat it (at-least-once)
    assert sorted(r["webhook_id"] for r in stack.results()) == ["msg_a", "msg_c"]


def test_a_crash_while_preparing_one_record_fails_it_alone_and_it_is_never_posted(
    phased_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a batch of three, and a prepare phase that crashes on the first webhook
    stack, server, events = phased_stack()
    recording_prepare = dispatch.prepare_request

    def prepare(message: Any, *args: Any) -> PreparedRequest:
        if message.id == "msg_bad":
            raise RuntimeError("prepare bug")
        return recording_prepare(message, *args)

    monkeypatch.setattr(dispatch, "prepare_request", prepare)
    event = sqs_event([stack.message(id=i).to_sqs_body() for i in ("msg_bad", "msg_b", "msg_c")])
    # WHEN the batch is handled
    response = handle_batch(event, stack.deps)
    # THEN that record alone failed, and only the other two were posted
    assert failures(response) == [event["Records"][0]["messageId"]]
    assert sorted(i for phase, i, _ in events if phase == "post") == ["msg_b", "msg_c"]
    assert server.count == 2


def test_a_bug_in_one_exchange_fails_that_record_alone(phased_stack: Any) -> None:
    # GIVEN a transport that raises something no network failure raises, for one webhook
    stack, server, _ = phased_stack(crash_on="msg_bad")
    event = sqs_event([stack.message(id=i).to_sqs_body() for i in ("msg_a", "msg_b", "msg_bad")])
    # WHEN the batch is handled
    response = handle_batch(event, stack.deps)
    # THEN that record alone is reported failed; the other two are delivered and recorded
    assert failures(response) == [event["Records"][2]["messageId"]]
    assert server.count == 2
    assert sorted(r["webhook_id"] for r in stack.results()) == ["msg_a", "msg_b"]


def test_a_bug_in_an_exchange_on_the_queues_last_receive_dead_letters_the_record_with_the_error(
    phased_stack: Any,
) -> None:
    # GIVEN a queue that dead-letters after 5 receives, and a transport bug for one webhook
    stack, _, _ = phased_stack(crash_on="msg_bad")
    event = sqs_event([stack.message(id="msg_bad").to_sqs_body()])
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    # WHEN it is handled on its last receive
    assert failures(handle_batch(event, stack.deps)) == []
    # THEN it is parked with the error, not left to a silent redrive
    [sent] = stack.sqs.sends_to(stack.dlq_url)
    reason = sent["MessageAttributes"]["HookrelayDeadLetterReason"]["StringValue"]
    assert reason == "handling failed on all 5 receives; last: ValueError: transport bug"


def test_the_retries_of_a_failing_batch_are_sent_from_the_delivery_threads_once_decided(
    sqs: Any,
    secretsmanager: Any,
    partner_server: Callable[..., PartnerServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a partner answering 500 to everything, and an SQS client noting the thread of each send
    server = partner_server(always(Reply(status=500)))
    stack = build_partner_stack(sqs, secretsmanager, server.url, post_concurrency=5)
    threads: list[tuple[str, int]] = []
    real_send, real_batch = stack.sqs.send_message, stack.sqs.send_message_batch

    def send_message(**kwargs: Any) -> Any:
        threads.append(("send_message", threading.get_ident()))
        return real_send(**kwargs)

    def send_message_batch(**kwargs: Any) -> Any:
        threads.append(("send_message_batch", threading.get_ident()))
        return real_batch(**kwargs)

    class LineThreads(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            threads.append(("attempt line", threading.get_ident()))

    monkeypatch.setattr(stack.sqs, "send_message", send_message)
    monkeypatch.setattr(stack.sqs, "send_message_batch", send_message_batch)
    line_threads = LineThreads()
    logging.getLogger(ATTEMPT_LOGGER).addHandler(line_threads)
    event = sqs_event([stack.message(id=f"msg_{i}").to_sqs_body() for i in range(3)])
    # WHEN the batch is handled
    try:
        response = handle_batch(event, stack.deps)
    finally:
        logging.getLogger(ATTEMPT_LOGGER).removeHandler(line_threads)
    # THEN every record is done (its retry confirmed), its retry sent from a delivery thread
    assert failures(response) == []
    here = threading.get_ident()
    sends = [thread for name, thread in threads if name == "send_message"]
    assert len(sends) == 3
    assert here not in sends
    assert len(stack.sqs.sends_to(stack.queue_url)) == 3
    # AND the attempt records, retries scheduled, were written as log lines after them, on the invoking
    # thread; no batch send (no results queue)
    assert threads[3:] == [("attempt line", here)] * 3
    assert sorted(r["outcome"] for r in stack.results()) == ["retry_scheduled"] * 3


def test_a_retry_that_cannot_be_sent_fails_that_record_alone(phased_stack: Any) -> None:
    # GIVEN a partner answering 200, and SQS refusing the send of one deferred (not yet due) webhook
    stack, server, _ = phased_stack()
    later = stack.message(id="msg_later", delivery=DeliveryState(next_attempt_at=NOW + timedelta(hours=1)))
    stack.sqs.refuse_bodies_containing.append("msg_later")
    event = sqs_event([stack.message(id="msg_now").to_sqs_body(), later.to_sqs_body()])
    # WHEN the batch is handled
    response = handle_batch(event, stack.deps)
    # THEN the deferred record, its wait not confirmed, is reported failed; the other is delivered
    assert failures(response) == [event["Records"][1]["messageId"]]
    assert server.count == 1
    assert [r["webhook_id"] for r in stack.results()] == ["msg_now"]
