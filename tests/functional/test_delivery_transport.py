"""The delivery transport at connect time: a host name is resolved once by a resolver the test controls,
checked, and the connection goes to the very address that was checked (DNS rebinding cannot move it).

The resolver stub answers only for ``*.example`` names and hands IP literals to the real resolver, so
the test sees every name the transport (and urllib3 under it) asks for.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from urllib3 import BaseHTTPResponse

from hookrelay.delivery.transport import PinnedTransport, build_transport
from hookrelay.errors import UnsafeDestination
from hookrelay.ssrf import parse_networks
from hookrelay_local.partner_server import PartnerServer, Reply, always

LOOPBACK = parse_networks(["loopback"])
Start = Callable[..., PartnerServer]


@dataclass
class StubResolver:
    """``answers[name]`` is the list of addresses the next lookup of ``name`` gets (the last one sticks)."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.asked.append(name)
        if not name.endswith(".example"):
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        queue = self.answers[name]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port)))
            for a in addresses
        ]


REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> StubResolver:
    stub = StubResolver()
    monkeypatch.setattr(socket, "getaddrinfo", stub)
    return stub


def post(transport: PinnedTransport, url: str) -> BaseHTTPResponse:
    response = transport.post(url, b"{}", {}, (2, 2))
    response.read()
    response.release_conn()
    return response


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(
    resolver: StubResolver, partner_server: Start
) -> None:
    # GIVEN partner.example resolving to our loopback server, then (rebinding) to the metadata address
    server = partner_server(always(Reply()))
    resolver.answers["partner.example"] = [["127.0.0.1"], ["169.254.169.254"]]
    transport = build_transport(LOOPBACK)
    # WHEN two webhooks are posted to it
    first = post(transport, f"http://partner.example:{server.port}/hook")
    second = post(transport, f"http://partner.example:{server.port}/hook")
    # THEN both reach the checked loopback server, the name was looked up once (within its DNS TTL), and
    # the socket was opened to the address, never to the name (no second lookup to rebind)
    assert (first.status, second.status) == (200, 200)
    assert server.count == 2
    assert resolver.asked.count("partner.example") == 1
    assert "127.0.0.1" in resolver.asked
    # AND the partner still sees its own host name
    assert {r.headers["Host"] for r in server.requests_snapshot()} == {f"partner.example:{server.port}"}


def test_a_rebinding_answer_after_the_dns_ttl_is_checked_again_and_refused(
    resolver: StubResolver, partner_server: Start
) -> None:
    # GIVEN a transport whose resolved answers expire at once, and a name that rebinds to a private address
    server = partner_server(always(Reply()))
    resolver.answers["rebind.example"] = [["127.0.0.1"], ["10.0.0.7"]]
    transport = build_transport(LOOPBACK)
    transport.dns_ttl_seconds = 0
    assert post(transport, f"http://rebind.example:{server.port}/").status == 200
    # WHEN it is posted to again (new lookup: 10.0.0.7)
    with pytest.raises(UnsafeDestination, match=r"10\.0\.0\.7"):
        post(transport, f"http://rebind.example:{server.port}/")
    # THEN the second request never reached any server
    assert server.count == 1


@pytest.mark.parametrize(
    "answer",
    [
        ["::ffff:10.0.0.1"],
        ["::ffff:169.254.169.254"],
        ["::ffff:127.0.0.1"],
        ["10.1.2.3", "::ffff:192.168.0.1"],
    ],
    ids=["mapped-private", "mapped-metadata", "mapped-loopback-not-allowed", "only-private-answers"],
)
def test_ipv4_mapped_ipv6_and_private_answers_are_refused_without_connecting(
    resolver: StubResolver, answer: list[str]
) -> None:
    # GIVEN a name whose every answer is (or maps to) a non-public address, with no network allowed
    resolver.answers["mapped.example"] = [answer]
    transport = build_transport(())
    # WHEN a webhook is posted THEN it is refused before any socket is opened to those addresses
    with pytest.raises(UnsafeDestination, match="non-public"):
        post(transport, "http://mapped.example:8080/")
    assert resolver.asked == ["mapped.example"]


def test_a_name_with_a_private_and_an_allowed_answer_is_pinned_to_the_allowed_one(
    resolver: StubResolver, partner_server: Start
) -> None:
    # GIVEN a name answering a private address first, then our (allowed) loopback server
    server = partner_server(always(Reply()))
    resolver.answers["mixed.example"] = [["10.9.9.9", "127.0.0.1"]]
    # WHEN posted to THEN the connection goes to the allowed address only
    assert post(build_transport(LOOPBACK), f"http://mixed.example:{server.port}/").status == 200
    assert server.count == 1
    assert "10.9.9.9" not in resolver.asked[1:]


def test_a_redirect_to_a_private_address_is_returned_not_followed(
    resolver: StubResolver, partner_server: Start
) -> None:
    # GIVEN a partner that redirects to the instance metadata address, and a "server" standing there
    metadata = partner_server(always(Reply()))
    resolver.answers["metadata.example"] = [["127.0.0.1"]]
    redirect = Reply(status=302, headers={"Location": f"http://metadata.example:{metadata.port}/latest"})
    partner = partner_server(always(redirect))
    resolver.answers["redirects.example"] = [["127.0.0.1"]]
    # WHEN a webhook is posted to the partner
    response = post(build_transport(LOOPBACK), f"http://redirects.example:{partner.port}/")
    # THEN the 302 is the answer: the redirect target was never resolved nor contacted
    assert response.status == 302
    assert metadata.count == 0
    assert "metadata.example" not in resolver.asked


def test_proxies_from_the_environment_are_ignored(
    resolver: StubResolver, partner_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN HTTP_PROXY pointing at a "proxy" server of ours
    proxy = partner_server(always(Reply(status=599)))
    server = partner_server(always(Reply()))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("http_proxy", proxy.url)
    resolver.answers["direct.example"] = [["127.0.0.1"]]
    # WHEN a webhook is posted THEN it goes straight to the partner
    assert post(build_transport(LOOPBACK), f"http://direct.example:{server.port}/").status == 200
    assert (server.count, proxy.count) == (1, 0)
