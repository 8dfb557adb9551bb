"""One POST on a connection already open, in two halves, without urllib3's per-request work: the request
written in one piece (:func:`send_on`), the answer parsed by ``http.client`` alone (:func:`read_answer`),
with urllib3's errors, so that the caller can tell them apart as it does :meth:`PinnedTransport.post`'s.

urllib3's own per-request work was two thirds of the handler's CPU against an instant receiver: its
``request`` (~55 us a POST, checking and encoding header by header, the body in a second ``sendall``)
and its response object around ``http.client``'s (~28 us: its header dict, its checks, its decoders).
Written here: ~10 us, and nothing around ``http.client``'s response. The connection is urllib3's,
taken from and given back to its pool (``_get_conn`` / ``_put_conn``, in urllib3 1.26 and 2.x alike:
the handler posts with the Lambda runtime's urllib3). Used by
:meth:`~hookrelay.delivery.transport.PinnedTransport.send_now` for
:mod:`~hookrelay.delivery.posting`.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from http.client import HTTPException, IncompleteRead
from http.client import HTTPResponse as HTTPResponseBase
from typing import TYPE_CHECKING, Any, Protocol, cast

from urllib3._collections import HTTPHeaderDict  # (where urllib3 1.26 has it too)
from urllib3.connection import BaseSSLError
from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError, SSLError
from urllib3.response import HTTPResponse

if TYPE_CHECKING:
    from urllib3 import HTTPConnectionPool
    from urllib3.connection import HTTPConnection


@dataclass
class Sent:
    """A POST sent on a kept-alive connection (:func:`send_on`), its answer not yet read
    (:func:`read_answer`, once its socket is readable, or :func:`give_up`)."""

    pool: HTTPConnectionPool
    conn: HTTPConnection
    target: str


def send_on(
    pool: HTTPConnectionPool, target: str, headers: dict[str, str], body: bytes, connect_timeout: float
) -> Sent | None:
    """Send a POST of ``body`` to ``target`` with ``headers`` (``Host`` among them) on an idle, open
    connection of ``pool``, without waiting for its answer; None (nothing sent) when there is none, or
    when :func:`request_bytes` cannot write the request as given. The send is under the connect timeout,
    as urllib3's; a reset or broken pipe comes back when the answer is read."""
    request = request_bytes(target, headers, body)
    if request is None:
        return None
    conn = cast("HTTPConnection", pool._get_conn())  # idle, or new and unopened (urllib3 checks)
    if conn.sock is None:
        pool._put_conn(conn)
        return None
    with contextlib.suppress(OSError):
        conn.sock.settimeout(connect_timeout)
        conn.sock.sendall(request)
    return Sent(pool, conn, target)


def read_answer(sent: Sent, wait: float, read_timeout: float) -> Answer:
    """The answer to ``sent`` (its status line and headers; the body not read), waiting at most ``wait``
    for each read; read it, then ``release_conn()``. Raises urllib3's ReadTimeoutError (naming
    ``read_timeout``), SSLError or ProtocolError, as urllib3's pool would (the connection is closed).

    The answer is :class:`PlainAnswer`; one with a ``Content-Encoding`` (the request asks for
    ``identity``; a partner may compress anyway) is urllib3's response, which decodes it.
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
        _discard(sent)
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


def give_up(sent: Sent, read_timeout: float) -> ReadTimeoutError:
    """``sent`` had no answer within ``read_timeout``: its connection is closed; the error to report."""
    _discard(sent)
    return _timed_out(sent, read_timeout)


def _discard(sent: Sent) -> None:
    sent.conn.close()
    sent.pool._put_conn(None)  # (the pool opens a new connection in its place when one is needed)


def _timed_out(sent: Sent, read_timeout: float) -> ReadTimeoutError:
    return ReadTimeoutError(sent.pool, sent.target, f"Read timed out. (read timeout={read_timeout})")


_NOT_IN_A_TARGET = re.compile(r"[\x00-\x20\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110 token)
_NOT_IN_A_VALUE = re.compile(r"[\r\n\x00]")


def request_bytes(target: str, headers: dict[str, str], body: bytes) -> bytes | None:
    """A POST of ``body`` to ``target`` with ``headers`` (``Host`` among them), as urllib3 sends it: the
    request line, ``Accept-Encoding: identity``, ``Content-Length``, the headers in order, the body. None
    if a header name is not a token, a value holds CR, LF or NUL or is not Latin-1, or the target holds
    a space or a control character (urllib3 refuses those, and ``PinnedTransport.post`` lets it), or
    there is no ``User-Agent`` (urllib3 would add its own: ``PinnedTransport.post`` sends it)."""
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
        return _timed_out(sent, read_timeout)
    if isinstance(exc, BaseSSLError):
        return SSLError(exc)
    return ProtocolError("Connection aborted.", exc)
