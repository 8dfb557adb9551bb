"""The delivery handler against moto SQS/Secrets Manager and real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hookrelay.aws.sqs import ORIGIN_ATTRIBUTE, REASON_ATTRIBUTE
from hookrelay.delivery.batch import handle_batch
from hookrelay.models import DeliveryState, WebhookMessage
from hookrelay.signing import standard as signing
from hookrelay_local.partner_server import PartnerServer, Received, Reply, always
from tests.support.handler_stack import NOW, PartnerStack, build_partner_stack
from tests.support.sqs import sqs_event

Start = Callable[..., PartnerServer]


@pytest.fixture
def stack_for(
    sqs: Any, secretsmanager: Any, partner_server: Start
) -> Callable[..., tuple[PartnerStack, PartnerServer]]:
    def make(
        reply: Reply | Callable[[Received], Reply] | None = None, **settings: Any
    ) -> tuple[PartnerStack, PartnerServer]:
        reply = reply or Reply()
        server = partner_server(reply if callable(reply) else always(reply))
        return build_partner_stack(sqs, secretsmanager, server.url, **settings), server

    return make


def failures(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def resent(stack: PartnerStack) -> list[tuple[WebhookMessage, int]]:
    """Messages the handler put back on the partner queue, with their SQS delay."""
    return [
        (WebhookMessage.model_validate_json(k["MessageBody"]), k.get("DelaySeconds", 0))
        for k in stack.sqs.sends_to(stack.queue_url)
    ]


def dead_letters(stack: PartnerStack) -> list[tuple[str, dict[str, str]]]:
    return [
        (k["MessageBody"], {n: v["StringValue"] for n, v in k["MessageAttributes"].items()})
        for k in stack.sqs.sends_to(stack.dlq_url)
    ]


def test_a_webhook_is_delivered_signed_and_recorded(stack_for: Any) -> None:
    stack, server = stack_for()
    message = stack.message()
    # WHEN the handler gets a batch with one message
    response = handle_batch(sqs_event([message.to_sqs_body()]), stack.deps)
    # THEN it succeeded, the partner got one POST that verifies with the partner's secret
    assert failures(response) == []
    [request] = server.requests_snapshot()
    verified = signing.verify(stack.secret, request.headers, request.body, now=NOW.timestamp())
    assert verified.webhook_id == message.id
    assert json.loads(request.body) == {
        "type": "transfer.created",
        "timestamp": "2026-11-23T12:00:00Z",
        "data": {"amount": "5.00"},
    }
    assert request.headers["X-Hookrelay-Topic"] == "transfer.created"
    assert request.headers["X-Hookrelay-Attempt"] == "1"
    assert request.headers["User-Agent"].startswith("hookrelay/")
    # AND nothing was re-queued or dead-lettered, and the attempt's record is its marked log line
    assert (resent(stack), dead_letters(stack)) == ([], [])
    [record] = stack.results()
    assert (record["webhook_id"], record["outcome"], record["status_code"], record["attempt"]) == (
        message.id,
        "delivered",
        200,
        1,
    )


def test_a_failure_fails_only_its_own_record(stack_for: Any) -> None:
    # GIVEN three messages, where re-queueing the second cannot be confirmed by SQS
    stack, _ = stack_for(Reply(status=500))
    messages = [stack.message(id=f"msg_{i}") for i in range(3)]
    stack.sqs.refuse_bodies_containing = ['"msg_1"']
    event = sqs_event([m.to_sqs_body() for m in messages])
    # WHEN the batch is handled
    response = handle_batch(event, stack.deps)
    # THEN only the second record is reported failed (it stays on the queue), by its own messageId
    assert failures(response) == [event["Records"][1]["messageId"]]
    assert sorted(m.id for m, _ in resent(stack) if m.id != "msg_1") == ["msg_0", "msg_2"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json at all", "invalid message"),
        ('{"partner_id": "acme"}', "invalid message: topic: Field required"),
        ('{"partner_id": "other", "topic": "t", "payload": {}}', "partner_id 'other' on acme's queue"),
    ],
    ids=["malformed-json", "missing-fields", "wrong-partner"],
)
def test_a_poison_message_goes_to_the_dead_letter_queue_at_once(
    stack_for: Any, body: str, reason: str
) -> None:
    stack, server = stack_for()
    good = stack.message()
    response = handle_batch(sqs_event([body, good.to_sqs_body()]), stack.deps)
    # THEN the batch succeeds: the poison is parked with its reason and its neighbour is delivered
    assert failures(response) == []
    [(parked, attributes)] = dead_letters(stack)
    assert parked == body
    assert reason in attributes[REASON_ATTRIBUTE]
    assert attributes[ORIGIN_ATTRIBUTE] == stack.queue_url
    assert server.count == 1
    assert [r["outcome"] for r in stack.results()].count("dead_lettered") == 1


def test_a_timeout_schedules_retry_one_at_fifteen_minutes(stack_for: Any) -> None:
    stack, _ = stack_for(Reply(delay=1.0), read_timeout=0.2)
    response = handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    assert failures(response) == []
    [(again, delay)] = resent(stack)
    assert delay == 900
    assert again.delivery.attempt == 1
    assert again.delivery.first_attempt_at == NOW
    assert again.delivery.next_attempt_at == NOW + timedelta(minutes=15)
    assert again.delivery.last_result is not None
    assert again.delivery.last_result.error_kind == "timeout"
    assert stack.results()[0]["outcome"] == "retry_scheduled"


def test_a_server_that_never_answers_times_out(stack_for: Any) -> None:
    stack, _ = stack_for(Reply(hang=True), read_timeout=0.3)
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    [(again, _)] = resent(stack)
    assert again.delivery.last_result is not None
    assert again.delivery.last_result.error_kind == "timeout"


def test_connection_refused_and_reset_are_retried(stack_for: Any) -> None:
    stack, server = stack_for(Reply(reset=True))
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    server.stop()
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    kinds = [m.delivery.last_result.error_kind for m, _ in resent(stack) if m.delivery.last_result]
    assert kinds == ["connection", "connection"]


def test_a_redirect_is_a_failure_and_is_not_followed(stack_for: Any, partner_server: Start) -> None:
    elsewhere = partner_server()
    stack, server = stack_for(Reply(status=302, headers={"Location": elsewhere.url}))
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    assert (server.count, elsewhere.count) == (1, 0)
    [(again, _)] = resent(stack)
    assert again.delivery.last_result is not None
    assert (again.delivery.last_result.status_code, again.delivery.last_result.error_kind) == (
        302,
        "redirect",
    )


def test_410_gone_stops_retrying_and_flags_the_partner(stack_for: Any) -> None:
    stack, _ = stack_for(Reply(status=410))
    message = stack.message()
    assert failures(handle_batch(sqs_event([message.to_sqs_body()]), stack.deps)) == []
    assert resent(stack) == []
    [(body, attributes)] = dead_letters(stack)
    assert WebhookMessage.model_validate_json(body).id == message.id
    assert attributes[REASON_ATTRIBUTE].startswith("gone:")
    assert stack.results()[0]["outcome"] == "gone"


def test_429_retry_after_longer_than_the_schedule_is_honoured_within_bounds(stack_for: Any) -> None:
    stack, _ = stack_for(Reply(status=429, headers={"Retry-After": "7200"}))
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    [(again, delay)] = resent(stack)
    # bounded by max_retry_after_seconds (1 h by default); SQS carries it in 15-minute hops
    assert again.delivery.next_attempt_at == NOW + timedelta(hours=1)
    assert delay == 900


def test_503_retry_after_as_http_date(stack_for: Any) -> None:
    stack, _ = stack_for(Reply(status=503, headers={"Retry-After": "Mon, 23 Nov 2026 12:30:00 GMT"}))
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    [(again, _)] = resent(stack)
    assert again.delivery.next_attempt_at == NOW + timedelta(minutes=30)


def test_a_message_not_yet_due_is_chained_through_another_delay_without_a_request(stack_for: Any) -> None:
    # GIVEN retry 3 due in 2 h 10 min (longer than SQS's 15-minute maximum delay)
    stack, server = stack_for()
    state = DeliveryState(
        attempt=2, first_attempt_at=NOW, next_attempt_at=NOW + timedelta(hours=2, minutes=10)
    )
    message = stack.message(delivery=state.model_dump())
    # WHEN it is received early, then again 2 hours later
    handle_batch(sqs_event([message.to_sqs_body()]), stack.deps)
    stack.clock_now[0] = NOW + timedelta(hours=2)
    handle_batch(sqs_event([message.to_sqs_body()]), stack.deps)
    # THEN it is put back with 900 s, then with the 600 s that remain, unchanged, and nobody is called
    hops = resent(stack)
    assert [delay for _, delay in hops] == [900, 600]
    assert all(m == message for m, _ in hops)
    assert server.count == 0


def test_after_the_last_attempt_the_message_is_dead_lettered_with_its_last_result(stack_for: Any) -> None:
    stack, _ = stack_for(Reply(status=500, body=b"database on fire"))
    state = DeliveryState(attempt=8, first_attempt_at=NOW - timedelta(hours=72))
    handle_batch(sqs_event([stack.message(delivery=state.model_dump()).to_sqs_body()]), stack.deps)
    assert resent(stack) == []
    [(body, attributes)] = dead_letters(stack)
    parked = WebhookMessage.model_validate_json(body)
    assert parked.delivery.attempt == 9
    assert parked.delivery.last_result is not None
    assert parked.delivery.last_result.status_code == 500
    assert attributes[REASON_ATTRIBUTE] == "retries exhausted after 9 attempts; last: HTTP 500"
    [record] = stack.results()
    assert (record["outcome"], record["response_excerpt"]) == ("dead_lettered", "database on fire")


def test_a_private_destination_is_refused_permanently_without_connecting(stack_for: Any) -> None:
    stack, server = stack_for(allowed_networks=())
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    assert server.count == 0
    [(_, attributes)] = dead_letters(stack)
    assert attributes[REASON_ATTRIBUTE].startswith("refused destination: refused: 127.0.0.1")
    assert stack.results()[0]["error_kind"] == "unsafe_destination"


def test_the_response_excerpt_is_capped(stack_for: Any) -> None:
    stack, _ = stack_for(Reply(status=200, body=b"x" * 2_000_000), response_excerpt_bytes=100)
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    assert stack.results()[0]["response_excerpt"] == "x" * 100


def test_records_are_posted_concurrently_up_to_post_concurrency(stack_for: Any) -> None:
    stack, server = stack_for(Reply(delay=0.2), post_concurrency=4)
    handle_batch(sqs_event([stack.message().to_sqs_body() for _ in range(10)]), stack.deps)
    assert server.count == 10
    assert server.max_in_flight == 4


def test_a_rotating_partner_gets_both_signatures_until_the_old_key_expires(
    stack_for: Any, secretsmanager: Any
) -> None:
    from hookrelay.signing.keys import SigningKey, SigningKeys

    # GIVEN a partner's keys rotated: the new key, and the old one retiring in 24 h
    stack, server = stack_for(secret_cache_seconds=0)
    old, new = stack.secret, signing.generate_secret()
    keys = SigningKeys(
        keys=[SigningKey(secret=new), SigningKey(secret=old, expires_at=NOW + timedelta(hours=24))]
    )
    secretsmanager.put_secret_value(SecretId=stack.settings.secret_id, SecretString=keys.to_secret_string())
    # WHEN one webhook is delivered now and one after the 24 h
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    stack.clock_now[0] = NOW + timedelta(hours=25)
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    first, second = server.requests_snapshot()
    # THEN the first carries two signatures, verifying with the old secret and with the new one
    assert len(first.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        verified = signing.verify(secret, first.headers, first.body, now=NOW.timestamp())
        assert verified.webhook_id == first.headers["webhook-id"]
    # AND the second only one, verifying with the new secret and no longer with the old
    assert len(second.headers["webhook-signature"].split()) == 1
    later = stack.clock_now[0].timestamp()
    assert (
        signing.verify(new, second.headers, second.body, now=later).webhook_id == second.headers["webhook-id"]
    )
    with pytest.raises(signing.WebhookVerificationError, match="no matching signature"):
        signing.verify(old, second.headers, second.body, now=later)


def test_legacy_signature_header_is_sent_when_the_partner_opted_in(stack_for: Any) -> None:
    stack, server = stack_for(legacy_signature=True)
    handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    [request] = server.requests_snapshot()
    signing.verify_legacy(stack.secret, request.headers, request.body)


def test_the_secret_never_appears_in_logs_or_results(
    stack_for: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    # (botocore's own DEBUG logging prints request bodies; configure_logging keeps it at WARNING)
    caplog.set_level(logging.DEBUG, logger="hookrelay")
    stack, _ = stack_for(Reply(status=500))
    handle_batch(sqs_event([stack.message().to_sqs_body(), "poison"]), stack.deps)
    everything = capsys.readouterr().out + caplog.text + json.dumps(stack.sqs.calls, default=str)
    assert "delivery attempt" in caplog.text
    assert stack.secret not in everything
    assert stack.secret.removeprefix("whsec_") not in everything


def test_secrets_manager_unavailable_fails_the_records_without_losing_them(stack_for: Any) -> None:
    stack, server = stack_for(secret_id="hookrelay/test/nobody/signing")
    event = sqs_event([stack.message().to_sqs_body()])
    assert failures(handle_batch(event, stack.deps)) == [event["Records"][0]["messageId"]]
    assert (server.count, resent(stack), dead_letters(stack)) == (0, [], [])


def test_a_record_that_crashes_on_its_last_receive_is_dead_lettered_with_the_error(
    stack_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a queue that dead-letters after 3 receives, and a handler that crashes on one message
    stack, _ = stack_for(max_receive_count=3)
    from hookrelay.delivery import phased as dispatch

    def crash(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(dispatch, "prepare_request", crash)
    event = sqs_event([stack.message().to_sqs_body()])
    # WHEN it is received a second time: it fails and stays on the queue
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"
    assert failures(handle_batch(event, stack.deps)) == [event["Records"][0]["messageId"]]
    assert dead_letters(stack) == []
    # WHEN it is received the third (last) time: it is parked with the error, not left to a silent redrive
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "3"
    assert failures(handle_batch(event, stack.deps)) == []
    [(_, attributes)] = dead_letters(stack)
    assert attributes[REASON_ATTRIBUTE] == "handling failed on all 3 receives; last: RuntimeError: boom"


def test_a_failure_after_delivery_does_not_fail_the_batch(
    stack_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the batch's metrics cannot be written for an unexpected reason
    stack, server = stack_for()
    from hookrelay.delivery import report

    def broken(*args: Any) -> None:
        raise RuntimeError("metrics bug")

    monkeypatch.setattr(report, "emit_metrics", broken)
    # WHEN a batch is delivered
    response = handle_batch(sqs_event([stack.message().to_sqs_body()]), stack.deps)
    # THEN it still succeeds: the delivered webhook is not handed back to SQS to be sent again
    assert (failures(response), server.count) == ([], 1)
