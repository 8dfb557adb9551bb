"""Tools for bench_scale: AWS calls counted by thread, an idle sink that notes arrivals, the REST calls.

- :class:`AwsCalls` wraps botocore's ``BaseClient._make_api_call`` in this process and counts every call
  by operation, except those made by the local Lambda runtime's own threads (discovery, pollers,
  batches, invocations) and the bench's main thread: what is left is the provisioner's API at work.
- :class:`Sink` is one partner endpoint (hookrelay_local.partner_server) answering 200 at once and
  noting when each ``webhook-id`` first arrived.
- :class:`Api` calls the provisioner's REST API from a few threads at once (``parallel``), and waits for
  update-code whether it answers 200 (synchronous) or 202 + ``GET /rollouts/{id}`` until ``done``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from botocore.client import BaseClient

from hookrelay_local.partner_server import PartnerServer, Received, Reply

RUNTIME_THREADS = ("lambda-discovery", "poll-", "batch-", "invoke-", "MainThread")


class AwsCalls:
    """Counts botocore API calls made in this process outside the runtime's threads (see module doc)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._original: Callable[..., Any] | None = None

    @contextmanager
    def counting(self) -> Iterator[AwsCalls]:
        original = BaseClient._make_api_call
        calls, lock = self.calls, self._lock

        def counted(client: Any, operation_name: str, api_params: Any) -> Any:
            if not threading.current_thread().name.startswith(RUNTIME_THREADS):
                with lock:
                    calls[f"{client.meta.service_model.service_name}:{operation_name}"] += 1
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = counted  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BaseClient._make_api_call = original  # type: ignore[method-assign]

    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.calls)


class Sink:
    """An idle partner endpoint; ``arrived[webhook_id]`` is when that webhook first arrived (time.time)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self._lock = threading.Lock()
        self.server = PartnerServer(self._answer, record=False).start()

    def _answer(self, request: Received) -> Reply:
        now = time.time()
        with self._lock:
            self.arrived.setdefault(request.headers.get("webhook-id", ""), now)
        return Reply()

    def count(self, ids: Iterable[str]) -> int:
        with self._lock:
            return sum(1 for i in ids if i in self.arrived)


class Api:
    """The provisioner's REST API, called from ``clients`` threads at once."""

    def __init__(self, url: str, clients: int) -> None:
        self.url = url
        self.clients = clients
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        session: requests.Session = self._local.session
        return session

    def call(self, method: str, path: str, body: Any = None, ok: Iterable[int] = (200, 201)) -> Any:
        answer = self._session().request(method, self.url + path, json=body, timeout=1800)
        if answer.status_code not in tuple(ok):
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json() if answer.content else None

    def parallel(self, work: Callable[[str], Any], items: list[str]) -> list[Any]:
        with ThreadPoolExecutor(self.clients, thread_name_prefix="bench-client") as pool:
            return list(pool.map(work, items))

    def update_code(self) -> dict[str, Any]:
        """POST /update-code; a 202 is followed with GET /rollouts/{id} until done. The final answer."""
        answer = self._session().post(self.url + "/update-code", json={}, timeout=1800)
        if answer.status_code == 200:
            return dict(answer.json())
        if answer.status_code != 202:
            raise RuntimeError(f"update-code: {answer.status_code} {answer.text[:300]}")
        rollout_id = answer.json()["rollout_id"]
        while (state := self._progress(rollout_id))["status"] != "done":
            time.sleep(1.0)
        return dict(state)

    def _progress(self, rollout_id: str) -> dict[str, Any]:
        """GET /rollouts/{id}, asked again on a 503 (moto, busy with 1,000 long polls and the rollout's own
        calls, can time a read out: the answer is "retry", as the API says)."""
        for _ in range(30):
            answer = self._session().get(f"{self.url}/rollouts/{rollout_id}?limit=1", timeout=1800)
            if answer.status_code == 200:
                return dict(answer.json())
            if answer.status_code != 503:
                break
            time.sleep(2.0)
        raise RuntimeError(f"GET /rollouts/{rollout_id}: {answer.status_code} {answer.text[:300]}")


def moto_pid(url: str) -> int:
    """The pid of the moto server (bench.receivers.moto_process) listening on ``url``'s port."""
    port = url.rsplit(":", 1)[1].encode()
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"moto.server" in b" ".join(cmdline) and port in cmdline:
            return int(proc.name)
    raise LookupError(f"no moto server on {url}")


def process_cpu_s(pid: int | str = "self") -> float:
    """CPU seconds (user + system) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


THREAD_GROUPS = (
    ("pollers", ("poll-",)),
    ("discovery", ("lambda-discovery",)),
    ("batches", ("batch-", "invoke-")),
)


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds of this process's live threads so far, grouped: the runtime's pollers, its discovery,
    its batches, and everything else (``/proc/self/task/<tid>/schedstat``, nanoseconds)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    groups = {name: 0.0 for name, _ in THREAD_GROUPS} | {"other": 0.0}
    for task in Path("/proc/self/task").iterdir():
        try:
            ns = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
        name = names.get(int(task.name), "")
        group = next((g for g, prefixes in THREAD_GROUPS if name.startswith(prefixes)), "other")
        groups[group] += ns / 1e9
    return groups


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
