"""A faulty AWS, on purpose: an HTTP proxy on loopback in front of the embedded AWS (moto's server) that
fails a planned share of the calls it forwards (local tooling, never deployed).

Each request is identified (service and operation, :mod:`hookrelay_local.aws_wire`), its fate drawn from
a seeded :class:`~hookrelay_local.fault_plan.FaultPlan`, and then answered with a throttling error or a
500 in the service's own wire format, reset before it reaches moto, forwarded and reset after moto
applied it (the answer lost), forwarded and answered late, or simply forwarded. Every fault is counted by
kind and operation.

    proxy = FaultProxy("http://127.0.0.1:5000", FaultPlan.uniform(0.1, seed=7)).start()
    boto3.client("sqs", endpoint_url=proxy.url, ...)   # 10 % of its calls fail
    proxy.injector.report()

Control requests (paths under ``/_faults/``, never forwarded): ``GET /_faults/report`` (calls and faults
counted), ``PUT /_faults/plan`` (a new plan, JSON; counts restart), ``GET /_faults/queue?url=...`` (the
messages on a queue of a moto running in the proxy's process, unreceived: see
:func:`hookrelay_local.embedded_aws.queue_messages`).

``python -m hookrelay_local.fault_proxy`` runs moto's server and the proxy in one process of their own
(AWS is a network service, not our CPU) and prints ``{"aws": ..., "proxy": ...}`` on one line;
:func:`faulty_aws_process` starts it and hands back a :class:`FaultyAws`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from hookrelay_local import aws_wire
from hookrelay_local.fault_plan import Fault, FaultInjector, FaultPlan
from hookrelay_local.partner_server import LoopbackHTTPServer, reset_connection

CONTROL = "/_faults/"
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"})


class FaultProxy:
    """The proxy: ``start()``, ``url``, ``injector`` (plan and counts), ``stop()``."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None, host: str = "127.0.0.1", port: int = 0):
        split = urlsplit(upstream)
        self.host = host
        self.upstream = (split.hostname or "127.0.0.1", split.port or 80)
        self.injector = FaultInjector(plan)
        self.upstream_errors = 0
        self._local = threading.local()
        self._server = LoopbackHTTPServer((host, port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> aws_wire.Answer:
        """The embedded AWS's answer, over a kept-alive connection of this thread's."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self._local.connection = None
            self.upstream_errors += 1
            return aws_wire.Answer(502, {"Content-Type": "text/plain"}, b"upstream failed")
        kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
        return aws_wire.Answer(response.status, kept, payload)

    def control(self, method: str, target: str, body: bytes) -> aws_wire.Answer:
        split = urlsplit(target)
        action = split.path[len(CONTROL) :]
        if action == "plan" and method == "PUT":
            self.injector.replace(FaultPlan.model_validate_json(body))
            return _json(200, {"ok": True})
        if action == "report":
            return _json(200, {**self.injector.report(), "upstream_errors": self.upstream_errors})
        if action == "queue":
            from hookrelay_local.embedded_aws import queue_messages

            return _json(200, queue_messages(parse_qs(split.query)["url"][0]))
        return _json(404, {"error": f"no control {action!r}"})


def _json(status: int, value: Any) -> aws_wire.Answer:
    return aws_wire.Answer(status, {"Content-Type": "application/json"}, json.dumps(value).encode())


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the counts say what happened."""

        def do_GET(self) -> None:
            body = self._body()
            if self.path.startswith(CONTROL):
                self._answer(proxy.control(self.command, self.path, body))
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            call = aws_wire.identify(self.command, self.path, headers, body)
            fault = proxy.injector.draw(call)
            if fault is Fault.RESET_BEFORE:
                self._reset()
            elif fault is Fault.THROTTLE:
                self._answer(aws_wire.throttling(call))
            elif fault is Fault.ERROR500:
                self._answer(aws_wire.server_error(call))
            else:
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                answer = proxy.forward(self.command, self.path, forwarded, body)
                if fault is Fault.RESET_AFTER:
                    self._reset()
                    return
                if fault is Fault.SLOW:
                    time.sleep(proxy.injector.plan.slow_seconds)
                self._answer(answer)

        do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline().strip():
                    pass  # trailers
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, answer: aws_wire.Answer) -> None:
            reason = self.responses.get(answer.status, ("",))[0]
            headers = {**answer.headers, "Content-Length": str(len(answer.body))}
            head = [f"HTTP/1.1 {answer.status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
            payload = b"" if self.command == "HEAD" else answer.body
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)  # one buffer: no stall

        def _reset(self) -> None:
            reset_connection(self.connection)
            self.close_connection = True

    return Handler


@dataclass(frozen=True)
class FaultyAws:
    """moto and the proxy in front of it, in a process of their own: ``aws`` (moto, no faults), ``proxy``."""

    aws: str
    proxy: str

    def set_plan(self, plan: FaultPlan) -> None:
        answer = requests.put(f"{self.proxy}{CONTROL}plan", data=plan.model_dump_json(), timeout=10)
        answer.raise_for_status()

    def report(self) -> dict[str, Any]:
        return dict(requests.get(f"{self.proxy}{CONTROL}report", timeout=10).json())

    def queue(self, queue_url: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.proxy}{CONTROL}queue", params={"url": queue_url}, timeout=30)
        answer.raise_for_status()
        return list(answer.json())


@contextmanager
def faulty_aws_process(plan: FaultPlan | None = None) -> Iterator[FaultyAws]:
    """Start ``python -m hookrelay_local.fault_proxy`` (moto + proxy, free ports); stop it after."""
    command = [sys.executable, "-m", "hookrelay_local.fault_proxy"]
    if plan is not None:
        command += ["--plan", plan.model_dump_json()]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the faulty AWS process ended before it was ready")
        yield FaultyAws(**json.loads(line))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine: its state is in memory, nothing to lose
            process.kill()
            process.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    from hookrelay_local.embedded_aws import endpoint_url, start_moto_server

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="the proxy's port (default: a free one)")
    parser.add_argument("--aws-port", type=int, default=0, help="moto's port (default: a free one)")
    parser.add_argument("--plan", default=None, help="a FaultPlan as JSON (default: no faults)")
    args = parser.parse_args(argv)
    # quiet: werkzeug logs a line per request, and moto's own errors already reach the caller as 500s
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    moto = start_moto_server(args.aws_port)
    plan = FaultPlan.model_validate_json(args.plan) if args.plan else None
    proxy = FaultProxy(endpoint_url(moto), plan, port=args.port).start()
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    print(json.dumps({"aws": endpoint_url(moto), "proxy": proxy.url}), flush=True)
    while not stopped.wait(0.5):  # a signal handler runs between waits
        pass
    proxy.stop()
    moto.stop()


if __name__ == "__main__":
    main()
