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
(:mod:`hookrelay.delivery.posting`): the request written in one piece (:func:`request_bytes`, the
headers ``post()`` sends, byte for byte in content) and the answer parsed by ``http.client`` alone
(:class:`PlainAnswer`), with urllib3's errors. urllib3's own per-request work (its header checks and
encoding, its response object) was two thirds of the handler's CPU against an instant receiver.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from dataclasses import dataclass
from http.client import HTTPException, IncompleteRead
from http.client import HTTPResponse as HTTPResponseBase
from typing import TYPE_CHECKING, Any, Protocol, cast

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3._collections import HTTPHeaderDict  # (where urllib3 1.26 has it too)
from urllib3.connection import BaseSSLError
from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError, SSLError
from urllib3.response import HTTPResponse
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
        an idle one was not closed by the partner, as for every request). The request is written in one
        piece (:func:`request_bytes`: the request line and headers ``post()`` sends, the body, in one
        ``sendall``); urllib3's ``request`` costs ~55 us of CPU a POST, most of it checking and encoding
        header by header, ours ~10. A header it could not write as given (see there) leaves the POST to
        :meth:`post`, which refuses it as urllib3 does. A failure to send comes back as urllib3's
        ProtocolError when the answer is read, as from :meth:`post`.
        """
        pool, target, sent = self._route(url, headers)
        request = request_bytes(target, sent, body)
        if request is None:
            return None
        conn = cast("HTTPConnection", pool._get_conn())  # idle, or new and unopened (urllib3 checks)
        if conn.sock is None:
            pool._put_conn(conn)
            return None
        pool.num_requests += 1
        with contextlib.suppress(OSError):  # (reset, broken pipe: the answer or its error is read next)
            conn.sock.settimeout(timeout[0])  # the send, as urllib3's: under the connect timeout
            conn.sock.sendall(request)
        return Sent(pool, conn, target)

    def answer(self, sent: Sent, wait: float, read_timeout: float) -> Answer:
        """The answer to ``sent`` (its status line and headers; the body not read), waiting at most
        ``wait`` for each read; read it, then ``release_conn()``. Raises urllib3's ReadTimeoutError (naming
        ``read_timeout``), SSLError or ProtocolError, as :meth:`post` would (the connection is closed).

        The answer is read by ``http.client`` alone (:class:`PlainAnswer`): urllib3's response object
        around it (its header dict, its checks of the headers, its decoders) cost ~28 us of CPU an answer,
        more than a third of reading it. An answer with a ``Content-Encoding`` (the handler asks for
        ``identity``; a partner may compress anyway) is handed to urllib3's response, which decodes it.
        """
        conn, pool = sent.conn, sent.pool
        raw = None
        try:
            if conn.sock is None:
                raise ConnectionResetError("the connection closed while sending")
            conn.sock.settimeout(wait)
            raw = HTTPResponseBase(conn.sock, method="POST")  # (what http.client's getresponse makes)
            raw.begin()
        except (TimeoutError, BaseSSLError, OSError, HTTPException) as exc:
            if raw is not None:
                raw.close()
            self._discard(sent)
            raise _as_urllib3_error(exc, sent, read_timeout) from exc
        if raw.will_close:  # (as http.client does: the answer's file keeps the socket until it is read)
            conn.close()
        if raw.getheader("Content-Encoding") is None:
            return PlainAnswer(raw, sent, read_timeout)
        response = HTTPResponse(
            body=raw,
            headers=HTTPHeaderDict(raw.msg.items()),
            status=raw.status,
            version=raw.version,
            reason=raw.reason,
            preload_content=False,
            original_response=raw,
            request_method="POST",
            request_url=sent.target,
        )
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


_NOT_IN_A_TARGET = re.compile(r"[\x00-\x20\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110 token)
_NOT_IN_A_VALUE = re.compile(r"[\r\n\x00]")


def request_bytes(target: str, headers: dict[str, str], body: bytes) -> bytes | None:
    """A POST of ``body`` to ``target`` with ``headers`` (``Host`` among them), as urllib3 sends it: the
    request line, ``Accept-Encoding: identity``, ``Content-Length``, the headers in order, the body. None
    if a header name is not a token, a value holds CR, LF or NUL or is not Latin-1, or the target holds
    a space or a control character (urllib3 refuses those, and :meth:`PinnedTransport.post` lets it), or
    there is no ``User-Agent`` (urllib3 would add its own: :meth:`PinnedTransport.post` sends it)."""
    if _NOT_IN_A_TARGET.search(target) or not any(name.lower() == "user-agent" for name in headers):
        return None
    lines = [f"POST {target} HTTP/1.1", "Accept-Encoding: identity", f"Content-Length: {len(body)}"]
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or _NOT_IN_A_VALUE.search(value):
            return None
        lines.append(f"{name}: {value}")
    lines += ("", "")
    try:
        return "\r\n".join(lines).encode("latin-1") + body
    except UnicodeEncodeError:
        return None


class Answer(Protocol):
    """What delivery reads of an answer: urllib3's response, or a :class:`PlainAnswer`."""

    status: int
    headers: Any

    @property
    def length_remaining(self) -> int | None: ...

    def read(self, amt: int | None = None) -> bytes: ...

    def release_conn(self) -> None: ...

    def close(self) -> None: ...


class PlainAnswer:
    """An answer as ``http.client`` read it, with what delivery needs of urllib3's response and urllib3's
    errors (a read timeout is its ReadTimeoutError, a body cut short its ProtocolError). Its connection
    goes back to the pool once its body was read to the end, else it is closed."""

    def __init__(self, raw: HTTPResponseBase, sent: Sent, read_timeout: float) -> None:
        self._raw, self._sent, self._read_timeout = raw, sent, read_timeout
        self.status = raw.status
        self.headers = raw.msg
        self._released = False

    @property
    def length_remaining(self) -> int | None:
        return self._raw.length

    def read(self, amt: int | None = None) -> bytes:
        """Up to ``amt`` bytes of the body (all of it without ``amt``); a body shorter than its
        ``Content-Length`` says is urllib3's ProtocolError, as urllib3 enforces it (``http.client``'s
        ``read(amt)`` would return the short read)."""
        expected = self._raw.length
        try:
            data = self._raw.read(amt)
        except (TimeoutError, BaseSSLError, OSError, HTTPException) as exc:
            self.close()
            raise _as_urllib3_error(exc, self._sent, self._read_timeout) from exc
        if amt is not None and expected is not None and len(data) < min(amt, expected):
            self.close()
            short = IncompleteRead(data, expected - len(data))
            raise ProtocolError(f"Connection broken: {short!r}", short)
        return data

    def close(self) -> None:
        self._raw.close()
        self._sent.conn.close()

    def release_conn(self) -> None:
        if self._released:
            return
        self._released = True
        if not self._raw.isclosed():  # not read to its end: the connection cannot carry another request
            self.close()
        self._sent.pool._put_conn(self._sent.conn)


def _as_urllib3_error(exc: Exception, sent: Sent, read_timeout: float) -> HTTPError:
    """``exc``, raised reading an answer, as urllib3 raises it from a pool's request."""
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return ReadTimeoutError(sent.pool, sent.target, f"Read timed out. (read timeout={read_timeout})")
    if isinstance(exc, BaseSSLError):
        return SSLError(exc)
    return ProtocolError("Connection aborted.", exc)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def build_transport(allowed: tuple[IPNetwork, ...] = (), pool_size: int = 10) -> PinnedTransport:
    """The transport for webhook delivery: pinned, pooled, no proxies, no retries, no redirects."""
    return PinnedTransport(allowed, pool_size=pool_size)
