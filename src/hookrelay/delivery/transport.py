"""The HTTP transport: pooled urllib3 connections that go only to checked addresses.

:class:`PinnedTransport` resolves the host of every request (answers kept for a short TTL), refuses
non-public addresses (see :mod:`hookrelay.ssrf`) and connects to the address it checked, keeping the host
name for the ``Host`` header and for TLS (SNI and certificate checks). Redirects are never followed,
nothing is retried, and no proxy applies (urllib3 reads no proxy settings from the environment).

Why urllib3 and not requests: for one POST, requests' session layer (preparing the request, cookies,
hooks, settings merging, adapter) cost about three times urllib3's own work on these machines
(``bench/bench_handler_cpu.py`` prints both bare loops), and the handler uses none of it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from http.client import HTTPException
from typing import TYPE_CHECKING, cast

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import BaseSSLError
from urllib3.exceptions import ProtocolError, ReadTimeoutError, SSLError
from urllib3.util import Timeout, parse_url

from hookrelay.ssrf import IPNetwork, resolve, validate_url

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse
    from urllib3.connection import HTTPConnection

# The HTTP client library webhooks are posted with (the benchmarks compare against a bare loop of it).
TRANSPORT_LIBRARY = "urllib3"


@dataclass
class Sent:
    """A POST sent on a kept-alive connection (:meth:`PinnedTransport.send_now`), its answer not yet read
    (:meth:`PinnedTransport.answer`, when ``sock`` is readable, or :meth:`PinnedTransport.abandon`)."""

    pool: HTTPConnectionPool
    conn: HTTPConnection
    target: str


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
        an idle one was not closed by the partner, as for every request); the request is urllib3's
        ``HTTPConnection.request``, the same bytes :meth:`post` sends. A failure to send comes back as
        urllib3's ProtocolError when the answer is read, as from :meth:`post`.
        """
        pool, target, sent = self._route(url, headers)
        conn = cast("HTTPConnection", pool._get_conn())  # idle, or new and unopened (urllib3 checks)
        if conn.sock is None:
            pool._put_conn(conn)
            return None
        conn.timeout = timeout[0]  # the send, as urllib3's: under the connect timeout
        pool.num_requests += 1
        with contextlib.suppress(OSError):  # (reset, broken pipe: the answer or its error is read next)
            conn.request("POST", target, body=body, headers=sent, preload_content=False)
        return Sent(pool, conn, target)

    def answer(self, sent: Sent, wait: float, read_timeout: float) -> BaseHTTPResponse:
        """The answer to ``sent`` (its status line and headers; the body not read), waiting at most
        ``wait`` for each read; read it, then ``release_conn()``. Raises urllib3's ReadTimeoutError (naming
        ``read_timeout``), SSLError or ProtocolError, as :meth:`post` would (the connection is closed)."""
        conn, pool = sent.conn, sent.pool
        conn.timeout = wait
        try:
            response = conn.getresponse()
        except (TimeoutError, BaseSSLError, OSError, HTTPException) as exc:
            self._discard(sent)
            if isinstance(exc, TimeoutError) or "timed out" in str(exc):
                raise ReadTimeoutError(
                    pool, sent.target, f"Read timed out. (read timeout={read_timeout})"
                ) from exc
            if isinstance(exc, BaseSSLError):
                raise SSLError(exc) from exc
            raise ProtocolError("Connection aborted.", exc) from exc
        response._connection = conn  # as urlopen sets them: release_conn() gives the connection back
        response._pool = pool
        return response

    def abandon(self, sent: Sent, read_timeout: float) -> ReadTimeoutError:
        """``sent`` had no answer within ``read_timeout``: its connection is closed; the error to report."""
        self._discard(sent)
        return ReadTimeoutError(sent.pool, sent.target, f"Read timed out. (read timeout={read_timeout})")

    @staticmethod
    def _discard(sent: Sent) -> None:
        sent.conn.close()
        sent.pool._put_conn(None)  # (the pool opens a new connection in its place when one is needed)

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
