"""The transport's POST in two halves (PinnedTransport.send_now, then answer or abandon): sent only on a
connection already open, the same bytes post() sends, and every failure reported as urllib3 reports it
for post().

Against real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from hookrelay.delivery.transport import PinnedTransport
from hookrelay.errors import UnsafeDestination
from hookrelay.ssrf import parse_networks
from hookrelay_local.partner_server import PartnerServer, Received, Reply, always

LOOPBACK = parse_networks(["loopback"])
Start = Callable[..., PartnerServer]
TIMEOUT = (2.0, 2.0)
HEADERS = {"User-Agent": "hookrelay-test/1"}  # (the handler always names itself)


def posted_once(transport: PinnedTransport, url: str) -> None:
    """One POST through post(), read to its end: it leaves its connection open in the pool."""
    response = transport.post(url, b"{}", {}, TIMEOUT)
    response.read()
    response.release_conn()


def test_nothing_is_sent_until_a_connection_is_open(partner_server: Start) -> None:
    # GIVEN a transport that has not posted to the partner yet
    server = partner_server()
    transport = PinnedTransport(LOOPBACK)
    # WHEN a POST is to be sent at once
    # THEN there is no connection to send it on: nothing is sent, nothing is opened
    assert transport.send_now(server.url, b"{}", HEADERS, TIMEOUT) is None
    assert server.count == 0


def test_a_post_sent_on_the_open_connection_is_the_same_request_post_sends(partner_server: Start) -> None:
    # GIVEN a transport whose connection to the partner is open after one post()
    server = partner_server()
    transport = PinnedTransport(LOOPBACK)
    headers = {"User-Agent": "hookrelay-test/1", "Content-Type": "application/json"}
    transport.post(server.url, b'{"n":1}', headers, TIMEOUT).release_conn()
    # WHEN a second POST is sent at once and its answer read
    sent = transport.send_now(server.url, b'{"n":2}', headers, TIMEOUT)
    assert sent is not None
    response = transport.answer(sent, 2.0, 2.0)
    # THEN the partner answered it, on the same connection, with the very headers post() sends
    assert (response.status, response.read()) == (200, b'{"ok":true}')
    response.release_conn()
    first, second = server.requests_snapshot()
    assert (first.body, second.body) == (b'{"n":1}', b'{"n":2}')
    assert first.headers == second.headers
    # AND the connection went back to the pool: the next one is sent on it too
    assert transport.send_now(server.url, b"{}", HEADERS, TIMEOUT) is not None


def test_a_connection_the_partner_closed_while_idle_is_not_sent_on(partner_server: Start) -> None:
    # GIVEN a partner that closes each connection after its answer, and one post() made
    server = partner_server(always(Reply(headers={"Connection": "close"})))
    transport = PinnedTransport(LOOPBACK)
    posted_once(transport, server.url)
    # WHEN a POST is to be sent at once
    # THEN no open connection is left to send it on
    assert transport.send_now(server.url, b"{}", HEADERS, TIMEOUT) is None
    assert server.count == 1


def test_a_reset_instead_of_an_answer_is_urllib3s_protocol_error(partner_server: Start) -> None:
    # GIVEN an open connection to a partner that resets the second request's connection
    def behaviour(request: Received) -> Reply:
        return Reply(reset=True) if request.body == b"reset" else Reply()

    server = partner_server(behaviour)
    transport = PinnedTransport(LOOPBACK)
    posted_once(transport, server.url)
    sent = transport.send_now(server.url, b"reset", HEADERS, TIMEOUT)
    assert sent is not None
    # WHEN its answer is read
    # THEN it is the error post() raises for it, and the connection is closed
    with pytest.raises(ProtocolError, match="Connection aborted"):
        transport.answer(sent, 2.0, 2.0)
    assert sent.conn.sock is None


def test_an_answer_given_up_on_is_a_read_timeout_naming_the_read_timeout(partner_server: Start) -> None:
    # GIVEN a POST sent on an open connection to a partner that does not answer it
    server = partner_server(lambda request: Reply(hang=True) if request.body == b"hang" else Reply())
    transport = PinnedTransport(LOOPBACK)
    posted_once(transport, server.url)
    sent = transport.send_now(server.url, b"hang", HEADERS, TIMEOUT)
    assert sent is not None
    # WHEN it is given up on, or read with no time left
    error = transport.abandon(sent, 7.5)
    # THEN it is urllib3's read timeout naming the partner's read timeout, and its connection is closed
    assert isinstance(error, ReadTimeoutError)
    assert "read timeout=7.5" in str(error)
    assert sent.conn.sock is None
    posted_once(transport, server.url)
    late = transport.send_now(server.url, b"hang", HEADERS, TIMEOUT)
    assert late is not None
    with pytest.raises(ReadTimeoutError, match=r"read timeout=7\.5"):
        transport.answer(late, 0.05, 7.5)


def test_a_header_urllib3_would_refuse_is_left_to_post_which_refuses_it(partner_server: Start) -> None:
    # GIVEN a transport whose connection to the partner is open
    server = partner_server()
    transport = PinnedTransport(LOOPBACK)
    posted_once(transport, server.url)
    # WHEN a POST whose header value holds a line break is to be sent at once
    bad = {"User-Agent": "hookrelay-test/1", "X-Topic": "a\r\nX-Injected: yes"}
    # THEN nothing is sent: post() refuses it as urllib3 does, and nothing reached the partner
    assert transport.send_now(server.url, b"{}", bad, TIMEOUT) is None
    with pytest.raises(ValueError, match="Invalid header value"):
        transport.post(server.url, b"{}", bad, TIMEOUT)
    assert server.count == 1


def test_a_refused_destination_is_refused_before_anything_is_sent() -> None:
    # GIVEN a transport that allows no private network
    transport = PinnedTransport(())
    # WHEN a POST to a loopback address is to be sent at once
    # THEN it is refused as post() refuses it
    with pytest.raises(UnsafeDestination):
        transport.send_now("http://127.0.0.1:9/webhooks", b"{}", HEADERS, TIMEOUT)
