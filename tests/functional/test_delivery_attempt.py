"""One attempt over the urllib3 transport against real loopback servers: the excerpt is capped without
reading the rest, the connection stays usable, and network failures keep their words in the record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from hookrelay.delivery.attempt import Endpoint, Verdict, attempt_delivery
from hookrelay.delivery.transport import build_transport
from hookrelay.models import ErrorKind, WebhookMessage
from hookrelay.signing.standard import generate_secret
from hookrelay.ssrf import parse_networks
from hookrelay_local.partner_server import PartnerServer, Reply, always
from tests.support.ports import closed_port

LOOPBACK = parse_networks(["loopback"])
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRETS = [generate_secret()]
Start = Callable[..., PartnerServer]


def message() -> WebhookMessage:
    return WebhookMessage(
        partner_id="acme", topic="transfer.created", payload={"amount": "5.00"}, created_at=NOW
    )


def test_a_long_answer_is_cut_at_the_excerpt_and_the_next_post_still_goes_through(
    partner_server: Start,
) -> None:
    # GIVEN a partner answering 200 with 64 KiB, and an excerpt of 100 bytes
    server = partner_server(always(Reply(body=b"x" * 65536)))
    transport = build_transport(LOOPBACK)
    endpoint = Endpoint(url=server.url, excerpt_bytes=100)
    # WHEN two webhooks are posted one after the other over the same transport
    first = attempt_delivery(message(), endpoint, SECRETS, transport, NOW)
    second = attempt_delivery(message(), endpoint, SECRETS, transport, NOW)
    # THEN both are delivered, each record keeping exactly the first 100 bytes
    assert (first.verdict, second.verdict) == (Verdict.SUCCESS, Verdict.SUCCESS)
    assert (first.status_code, first.response_excerpt) == (200, "x" * 100)
    assert second.response_excerpt == "x" * 100
    assert server.count == 2


def test_a_short_answer_is_kept_whole(partner_server: Start) -> None:
    # GIVEN a partner answering 503 with a short body and Retry-After
    server = partner_server(always(Reply(status=503, body=b"busy", headers={"Retry-After": "120"})))
    # WHEN a webhook is posted
    result = attempt_delivery(message(), Endpoint(url=server.url), SECRETS, build_transport(LOOPBACK), NOW)
    # THEN the record has the whole body, the status as the error and the partner's Retry-After
    assert (result.verdict, result.error_kind, result.error) == (
        Verdict.RETRY,
        ErrorKind.HTTP_STATUS,
        "HTTP 503",
    )
    assert result.response_excerpt == "busy"
    assert result.retry_after is not None
    assert result.retry_after.total_seconds() == 120


def test_an_answer_of_exactly_the_excerpt_is_kept_whole_and_one_byte_more_is_cut(
    partner_server: Start,
) -> None:
    # GIVEN partners answering exactly 100 bytes and 101 bytes, and an excerpt of 100 bytes
    exact = partner_server(always(Reply(body=b"e" * 100)))
    longer = partner_server(always(Reply(body=b"l" * 101)))
    transport = build_transport(LOOPBACK)
    # WHEN a webhook is posted to each, twice (over the connections the first posts left)
    results = [
        attempt_delivery(message(), Endpoint(url=server.url, excerpt_bytes=100), SECRETS, transport, NOW)
        for server in (exact, longer, exact, longer)
    ]
    # THEN each record keeps 100 bytes, and every post went through
    assert [r.response_excerpt for r in results] == ["e" * 100, "l" * 100] * 2
    assert {r.verdict for r in results} == {Verdict.SUCCESS}
    assert (exact.count, longer.count) == (2, 2)


def test_a_refused_connection_is_a_connection_error_in_the_record() -> None:
    # GIVEN a loopback port nobody listens on
    with closed_port() as port:
        # WHEN a webhook is posted there
        endpoint = Endpoint(url=f"http://127.0.0.1:{port}/", connect_timeout=2)
        result = attempt_delivery(message(), endpoint, SECRETS, build_transport(LOOPBACK), NOW)
    # THEN it is retried as a connection failure, named as before the transport changed
    assert (result.verdict, result.error_kind) == (Verdict.RETRY, ErrorKind.CONNECTION)
    assert result.error is not None
    assert result.error.startswith("ConnectionError: ")


def test_an_answer_slower_than_the_read_timeout_is_a_read_timeout(partner_server: Start) -> None:
    # GIVEN a partner that reads the request and never answers, and a 0.3 s read timeout
    server = partner_server(always(Reply(hang=True)))
    endpoint = Endpoint(url=server.url, read_timeout=0.3)
    # WHEN a webhook is posted
    result = attempt_delivery(message(), endpoint, SECRETS, build_transport(LOOPBACK), NOW)
    # THEN it is retried as a timeout, with the words operators filter on
    assert (result.verdict, result.error_kind) == (Verdict.RETRY, ErrorKind.TIMEOUT)
    assert result.error is not None
    assert result.error.startswith("ReadTimeout: ")
