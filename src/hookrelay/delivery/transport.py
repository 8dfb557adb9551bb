"""The HTTP transport: pooled urllib3 connections that go only to checked addresses.

:class:`PinnedTransport` resolves the host of every request (answers kept for a short TTL), refuses
non-public addresses (see :mod:`hookrelay.ssrf`) and connects to the address it checked, keeping the host
name for the ``Host`` header and for TLS (SNI and certificate checks). Redirects are never followed,
nothing is retried, and no proxy applies (urllib3 reads no proxy settings from the environment).

Why urllib3 and not requests: for one POST, requests' session layer (preparing the request, cookies,
hooks, settings merging, adapter) cost about three times urllib3's own work on these machines
(``bench/bench_handler_cpu.py`` prints both bare loops), and the handler uses none of it.

Two ways to POST. :meth:`PinnedTransport.post` is urllib3's pool's ``urlopen`` (a connection opened when
none is idle), for the delivery threads. :meth:`PinnedTransport.send_now` and :meth:`~PinnedTransport.
answer` are the same exchange in halves, on a connection already open, for the invoking thread
(:mod:`hookrelay.delivery.posting`), with the request written and the answer read as
:mod:`hookrelay.delivery.open_connection` says.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import Timeout, parse_url

from hookrelay.delivery.open_connection import Answer, Sent, give_up, read_answer, send_on
from hookrelay.ssrf import IPNetwork, resolve, validate_url

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse
    from urllib3.exceptions import ReadTimeoutError

# The HTTP client library webhooks are posted with (the benchmarks compare against a bare loop of it).
TRANSPORT_LIBRARY = "urllib3"


class PinnedTransport:
    """POSTs to partner URLs over keep-alive pools, one per checked address (``pool_size`` each)."""

    def __init__(
        self, allowed: tuple[IPNetwork, ...] = (), pool_size: int = 10, dns_ttl_seconds: float = 30.0
    ) -> None:
        self.allowed = allowed
        self.pool_size = pool_size
        self.dns_ttl_seconds = dns_ttl_seconds
        self._resolved: dict[tuple[str, int], tuple[str, float]] = {}
        self._urls: dict[str, tuple[str, str, int, str]] = {}
        self._pools: dict[tuple[str, str, int, str], HTTPConnectionPool] = {}
        self._lock = threading.Lock()

    def checked_address(self, host: str, port: int) -> str:
        """The checked address for host:port; answers (only checked ones) are kept for a short TTL."""
        now = time.monotonic()
        cached = self._resolved.get((host, port))
        if cached is not None and cached[1] > now:
            return cached[0]
        address = resolve(host, port, self.allowed)
        self._resolved[(host, port)] = (address, now + self.dns_ttl_seconds)
        return address

    def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout: tuple[float, float]
    ) -> BaseHTTPResponse:
        """POST ``body`` to ``url`` once; the response is not preloaded (read it, then release it).

        Raises UnsafeDestination or DnsFailure (before any connection), or urllib3's HTTPError.
        """
        pool, target, sent = self._route(url, headers)
        return pool.urlopen(
            "POST",
            target,
            body=body,
            headers=sent,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
            timeout=Timeout(connect=timeout[0], read=timeout[1]),
        )

    def send_now(
        self, url: str, body: bytes, headers: dict[str, str], timeout: tuple[float, float]
    ) -> Sent | None:
        """Send a POST of ``body`` to ``url`` at once on an idle kept-alive connection to its checked
        address, without waiting for its answer; None (nothing sent) when no idle connection is open
        (post it with :meth:`post`, which opens one: a connect may take the whole connect timeout).

        Raises what :meth:`post` raises before a connection (UnsafeDestination, DnsFailure). The
        connection is urllib3's, taken from and given back to the pool :meth:`post` uses (urllib3 checks
        an idle one was not closed by the partner, as for every request), and the request is written in
        one piece (:mod:`~hookrelay.delivery.open_connection`). A header it could not write as given leaves
        the POST to :meth:`post`, which refuses it as urllib3 does. A failure to send comes back as
        urllib3's ProtocolError when the answer is read, as from :meth:`post`.
        """
        pool, target, sent = self._route(url, headers)
        return send_on(pool, target, sent, body, timeout[0])

    @staticmethod
    def answer(sent: Sent, wait: float, read_timeout: float) -> Answer:
        """:func:`~hookrelay.delivery.open_connection.read_answer`: the answer to ``sent``."""
        return read_answer(sent, wait, read_timeout)

    @staticmethod
    def abandon(sent: Sent, read_timeout: float) -> ReadTimeoutError:
        """:func:`~hookrelay.delivery.open_connection.give_up`: ``sent``'s connection closed unanswered."""
        return give_up(sent, read_timeout)

    def _route(self, url: str, headers: dict[str, str]) -> tuple[HTTPConnectionPool, str, dict[str, str]]:
        """(the pool of ``url``'s checked address, the request target, ``headers`` with ``Host``)."""
        scheme, host, port, target = self._parsed(url)
        address = self.checked_address(host, port)
        default_port = 443 if scheme == "https" else 80
        sent = {"Host": host if port == default_port else f"{_bracket(host)}:{port}", **headers}
        return self._pool(scheme, address, port, host), target, sent

    def _parsed(self, url: str) -> tuple[str, str, int, str]:
        """(scheme, host, port, request target) of a URL the SSRF guard accepts; parsed once per URL."""
        found = self._urls.get(url)
        if found is None:
            scheme, host, port = validate_url(url)
            found = (scheme, host, port, parse_url(url).request_uri)
            self._urls[url] = found
        return found

    def _pool(self, scheme: str, address: str, port: int, host: str) -> HTTPConnectionPool:
        key = (scheme, address, port, host)
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.get(key) or self._new_pool(*key)
                self._pools[key] = pool
        return pool

    def _new_pool(self, scheme: str, address: str, port: int, host: str) -> HTTPConnectionPool:
        if scheme == "http":
            return HTTPConnectionPool(address, port, maxsize=self.pool_size, retries=False)
        import certifi  # the CA bundle requests used; loaded only for an https partner

        return HTTPSConnectionPool(
            address,
            port,
            maxsize=self.pool_size,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=host,
            assert_hostname=host,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def build_transport(allowed: tuple[IPNetwork, ...] = (), pool_size: int = 10) -> PinnedTransport:
    """The transport for webhook delivery: pinned, pooled, no proxies, no retries, no redirects."""
    return PinnedTransport(allowed, pool_size=pool_size)
