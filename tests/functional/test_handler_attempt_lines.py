"""The handler's attempt records are its log lines (issue 15): one marked JSON line per attempt, written
whatever LOG_LEVEL says, read back as the recorder reads them; no results-queue send."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hookrelay.attempts import lines
from hookrelay.delivery.batch import handle_batch
from hookrelay.models import AttemptRecord
from hookrelay.observability import JsonFormatter
from hookrelay.retry import RetryPolicy
from hookrelay_local.partner_server import PartnerServer, Reply, always
from tests.support.handler_stack import PartnerStack, build_partner_stack
from tests.support.sqs import sqs_event


@pytest.fixture
def stack_for(
    sqs: Any, secretsmanager: Any, partner_server: Callable[..., PartnerServer]
) -> Callable[..., tuple[PartnerStack, PartnerServer]]:
    def make(reply: Reply, **settings: Any) -> tuple[PartnerStack, PartnerServer]:
        server = partner_server(always(reply))
        return build_partner_stack(sqs, secretsmanager, server.url, **settings), server

    return make


@pytest.fixture
def root_lines() -> Iterator[Callable[[str], list[dict[str, Any]]]]:
    """The JSON lines the root logger's handler writes, as configure_logging sets it up (LOG_LEVEL set
    per test with the returned function); the root's level and handlers restored after."""
    root = logging.getLogger()
    level, stream = root.level, io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("handler"))
    root.addHandler(handler)

    def written(log_level: str) -> list[dict[str, Any]]:
        root.setLevel(log_level)
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield written
    root.removeHandler(handler)
    root.setLevel(level)


def test_the_attempt_line_is_written_at_log_level_warning_too(
    stack_for: Any, root_lines: Callable[[str], list[dict[str, Any]]]
) -> None:
    # GIVEN a partner answering 200, and the handler's LOG_LEVEL at WARNING (an INFO line is not written)
    stack, _ = stack_for(Reply(200, body=b"thanks"))
    root_lines("WARNING")
    logging.getLogger("hookrelay.delivery.batch").info("an info line")
    message = stack.message()
    # WHEN a batch of one is delivered
    assert handle_batch(sqs_event([message.to_sqs_body()]), stack.deps) == {"batchItemFailures": []}
    written = root_lines("WARNING")
    # THEN the root handler wrote one line: the attempt's, at INFO, marked for the subscription filter
    [line] = written
    assert (line["level"], line["message"], line["service"]) == ("INFO", "delivery attempt", "handler")
    assert lines.is_attempt_line(line)
    # AND it carries the whole record at the top level, the response excerpt included
    record = AttemptRecord.model_validate(line)
    assert (record.webhook_id, record.partner_id, record.outcome, record.status_code) == (
        message.id,
        "acme",
        "delivered",
        200,
    )
    assert record.response_excerpt == "thanks"
    assert stack.results_records() == [record]


def test_a_dead_letter_and_a_gone_endpoint_are_warnings(stack_for: Any) -> None:
    # GIVEN a partner whose endpoint answers 410 Gone
    stack, _ = stack_for(Reply(410))
    # WHEN a batch is handled
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    # THEN its line is a warning an operator's filter on warnings still finds
    [line] = [json.loads(text) for text in stack.attempt_lines.lines]
    assert (line["level"], line["message"], line["outcome"]) == ("WARNING", "delivery attempt", "gone")


def test_a_poison_body_gives_one_line_with_its_record(
    stack_for: Any, root_lines: Callable[[str], list[dict[str, Any]]]
) -> None:
    # GIVEN a partner, and a batch holding one body that is no message
    stack, server = stack_for(Reply(200))
    root_lines("INFO")
    event = sqs_event(["poison"])
    message_id = event["Records"][0]["messageId"]
    # WHEN it is handled
    assert handle_batch(event, stack.deps) == {"batchItemFailures": []}
    # THEN exactly one line names it: a warning, marked, with the record of what was parked and why
    [line] = [line for line in root_lines("INFO") if message_id in json.dumps(line)]
    assert (line["level"], line["message"], line["message_id"]) == (
        "WARNING",
        "poison message dead-lettered",
        message_id,
    )
    record = AttemptRecord.model_validate(line)
    assert lines.is_attempt_line(line)
    assert (record.webhook_id, record.attempt, record.outcome, record.error_kind) == (
        f"sqs:{message_id}",
        0,
        "dead_lettered",
        "invalid_message",
    )
    assert line["reason"] == record.error
    assert server.count == 0


def test_no_batch_sends_anything_to_the_results_queue(stack_for: Any) -> None:
    # GIVEN a partner answering 500, with 2 attempts in all
    stack, _ = stack_for(Reply(500), retry_policy=RetryPolicy(schedule_seconds=(60,), jitter=0))
    first = stack.message()
    last = stack.message().with_delivery(first.delivery.model_copy(update={"attempt": 1}))
    # WHEN a batch of a retry, a dead letter and a poison body is handled
    assert handle_batch(sqs_event([first.to_sqs_body(), last.to_sqs_body(), "poison"]), stack.deps) == {
        "batchItemFailures": []
    }
    # THEN each has its record (its line) ...
    outcomes = sorted(r.outcome.value for r in stack.results_records())
    assert outcomes == ["dead_lettered", "dead_lettered", "retry_scheduled"]
    # ... and the only SQS calls were the retry's and the dead letters' single sends, none to the results
    # queue and no batch send
    calls = [(name, kwargs["QueueUrl"]) for name, kwargs in stack.sqs.calls]
    assert sorted(calls) == sorted(
        [("send_message", stack.queue_url)] + [("send_message", stack.dlq_url)] * 2
    )
