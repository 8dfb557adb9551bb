"""Real HTTP servers on 127.0.0.1 that play a partner's endpoint, for tests, benchmarks and demos.

Responses are written in one buffer and accepted sockets get TCP_NODELAY, so keep-alive clients are
not stalled by delayed ACKs (see FIELD-NOTES: ~25 req/s without it, ~1,000 with it).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b'{"ok":true}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False  # accept, read the request, never answer (until the server stops)
    reset: bool = False  # close the connection abruptly instead of answering
    cut_after: int | None = None  # write only this many bytes of the answer, then reset the connection


Behaviour = Callable[[Received], Reply]


def always(reply: Reply) -> Behaviour:
    return lambda _request: reply


def reset_connection(connection: socket.socket) -> None:
    """Make the coming close send RST (SO_LINGER 0), not FIN: the client sees a connection reset."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


class LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request is normal here (timeouts, resets): stay quiet."""

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


class PartnerServer:
    """``with PartnerServer(behaviour) as server: server.url`` -- records every request it gets."""

    def __init__(
        self,
        behaviour: Behaviour | None = None,
        port: int = 0,
        record: bool = True,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: a server context (its certificate loaded): HTTPS, by the name ``localhost``."""
        self.behaviour: Behaviour = behaviour or always(Reply())
        self.tls = tls
        self.received: list[Received] = []
        self.record = record
        self.count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = LoopbackHTTPServer(("127.0.0.1", port), self._handler_class())
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"https://localhost:{self.port}/webhooks"
        return f"http://127.0.0.1:{self.port}/webhooks"

    def start(self) -> PartnerServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which never ran otherwise
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> PartnerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Received("POST", self.path, dict(self.headers.items()), body, time.time())
                with server._lock:
                    server.count += 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    if server.record:
                        server.received.append(request)
                try:
                    self._answer(server.behaviour(request))
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, reply: Reply) -> None:
                if reply.hang:
                    server._stopping.wait()
                    self.close_connection = True
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.reset:
                    self._reset()
                    return
                head = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}"]
                headers = {"Content-Type": "application/json", **reply.headers}
                headers["Content-Length"] = str(len(reply.body))
                head += [f"{k}: {v}" for k, v in headers.items()]
                answer = ("\r\n".join(head) + "\r\n\r\n").encode() + reply.body
                if reply.cut_after is not None:
                    self.wfile.write(answer[: reply.cut_after])
                    self.wfile.flush()
                    self._reset()
                    return
                self.wfile.write(answer)

            def _reset(self) -> None:
                reset_connection(self.connection)
                self.close_connection = True

            do_PUT = do_POST

        return Handler


def main(argv: list[str] | None = None) -> None:
    """Run a partner endpoint in its own process: python -m hookrelay_local.partner_server --port 9000."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before answering")
    args = parser.parse_args(argv)
    server = PartnerServer(always(Reply(status=args.status, delay=args.delay)), port=args.port, record=False)
    server.start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
