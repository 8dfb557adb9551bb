"""Partner endpoints that note when each webhook arrived, in a process of their own (no shared GIL).

One server answers every partner, one URL path each (``/<partner id>``); a path's answer delay can be
changed while it runs. It notes, per request, the path, the ``webhook-id``, the publish time the
benchmark stamped in the payload (``data.published_at``, wall clock) and the time of receipt (wall
clock, taken once the request body is read, before any delay). It is driven over stdin/stdout, one
line each way:

    delay <path> <seconds>   ->  ok
    drain                    ->  one JSON list of [path, webhook_id, published_at, received_at, tag]

    with latency_receiver() as receiver:
        url = receiver.url("acme"); receiver.set_delay("acme", 2.0); receipts = receiver.drain()
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from hookrelay_local.partner_server import PartnerServer, Received, Reply


@dataclass(frozen=True)
class Receipt:
    path: str
    webhook_id: str
    published_at: float
    received_at: float
    tag: str  # the scenario the benchmark stamped in the payload

    @property
    def latency_s(self) -> float:
        return self.received_at - self.published_at


class _Recorder:
    """The behaviour of the server: note the receipt, answer after the path's delay."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delays: dict[str, float] = {}
        self.notes: list[list[object]] = []

    def __call__(self, request: Received) -> Reply:
        path = request.path.strip("/")
        try:
            data = json.loads(request.body)["data"]
            published, tag = float(data["published_at"]), str(data.get("tag", ""))
        except (ValueError, KeyError, TypeError):
            published, tag = 0.0, ""
        with self.lock:
            self.notes.append([path, request.headers.get("webhook-id", ""), published, request.at, tag])
            delay = self.delays.get(path, 0.0)
        return Reply(delay=delay)

    def serve(self, commands: IO[str], answers: IO[str]) -> None:
        for line in commands:
            words = line.split()
            with self.lock:
                if words[:1] == ["delay"]:
                    self.delays[words[1]] = float(words[2])
                    answer = "ok"
                else:
                    answer, self.notes = json.dumps(self.notes), []
            answers.write(answer + "\n")
            answers.flush()


class ReceiverControl:
    def __init__(self, process: subprocess.Popen[str], base_url: str) -> None:
        self._process = process
        self.base_url = base_url
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def _ask(self, command: str) -> str:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        with self._lock:
            self._process.stdin.write(command + "\n")
            self._process.stdin.flush()
            return self._process.stdout.readline()

    def set_delay(self, path: str, seconds: float) -> None:
        self._ask(f"delay {path} {seconds}")

    def drain(self) -> list[Receipt]:
        """Every receipt noted since the last drain."""
        return [Receipt(*note) for note in json.loads(self._ask("drain"))]


@contextmanager
def latency_receiver() -> Iterator[ReceiverControl]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.latency_receiver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield ReceiverControl(process, process.stdout.readline().strip())
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    recorder = _Recorder()
    server = PartnerServer(recorder, record=False).start()
    print(f"http://127.0.0.1:{server.port}", flush=True)
    recorder.serve(sys.stdin, sys.stdout)
    server.stop()


if __name__ == "__main__":
    main()
