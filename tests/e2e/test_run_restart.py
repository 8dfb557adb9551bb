"""`make run` stops within 10 s on SIGTERM or SIGINT to its process group, and starts again at once.

Each cycle starts ``python -m hookrelay_local.run --no-console`` in its own session on the same three
ports, waits for the API, creates a partner and publishes an event (the handler runs in-process),
signals the group and waits. The ports' last connections are in TIME_WAIT at the next start: the
port probe must not call them busy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.ports import is_address_in_use, start_retrying

pytestmark = pytest.mark.e2e
STOP_LIMIT_S = 10.0
ROOT = Path(__file__).resolve().parents[2]


def start(ports: list[int], log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "hookrelay_local.run", "--no-console", "--stage", "restart"]
    for flag, port in zip(("--aws-port", "--api-port", "--receiver-port"), ports, strict=True):
        argv += [flag, str(port)]
    with log.open("wb") as out:  # a file, not a pipe: nobody has to drain it
        return subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def start_on_free_ports(log: Path) -> tuple[list[int], subprocess.Popen[bytes]]:
    """``start`` on three free ports; on others if one was taken before the run's port probe."""

    def attempt(ports: list[int]) -> subprocess.Popen[bytes] | None:
        process = start(ports, log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "starting hookrelay" not in log.read_text():
            if process.poll() is not None:  # the probe said "port in use" (or another failure: shown later)
                return None if is_address_in_use(log.read_text()) else process
            time.sleep(0.05)
        return process

    return start_retrying(attempt, 3)


@contextlib.contextmanager
def started(
    ports: list[int], log: Path, process: subprocess.Popen[bytes] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``start`` (unless ``process`` already runs), and whatever the test does (a failed assertion
    included), never leave it running."""
    process = process or start(ports, log)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def call(method: str, url: str, body: dict[str, object] | None = None) -> int:
    return requests.request(method, url, json=body, timeout=10).status_code


def wait_for_api(api: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        assert process.poll() is None, f"make run exited {process.returncode}:\n{log.read_text()}"
        try:
            if call("GET", f"{api}/openapi.json") == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the API never answered:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes], signum: int) -> float:
    signalled = time.monotonic()
    os.killpg(process.pid, signum)
    try:
        process.wait(timeout=STOP_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return time.monotonic() - signalled


def said_stopping_then_stopped(output: str) -> bool:
    """The run's last line is "stopped.", after a "stopping ..." (a batch still in flight at the signal
    finishes first, and its delivery log line may come between the two)."""
    lines = output.splitlines()
    return bool(lines) and lines[-1] == "stopped." and "stopping ..." in lines[:-1]


def test_stop_then_start_on_the_same_ports_three_times(tmp_path: Path) -> None:
    ports, first = start_on_free_ports(tmp_path / "run-0.log")
    api, receiver = f"http://127.0.0.1:{ports[1]}", f"http://127.0.0.1:{ports[2]}/"
    for cycle, signum in enumerate((signal.SIGTERM, signal.SIGINT, signal.SIGTERM)):
        # GIVEN make run started on ports the previous cycle's run just released
        log = tmp_path / f"run-{cycle}.log"
        with started(ports, log, first if cycle == 0 else None) as process:
            wait_for_api(api, process, log)
            # AND a script's requests: a partner, an event published to it
            assert call("POST", f"{api}/partners", {"partner_id": "demo", "url": receiver}) == 201
            assert call("POST", f"{api}/partners/demo/events", {"topic": "t.created", "payload": {}}) == 202
            # WHEN its process group gets the signal right after
            took = stop(process, signum)
        # THEN it stops gracefully within the limit
        output = log.read_text()
        assert took < STOP_LIMIT_S, f"cycle {cycle}: still running {took:.1f} s after the signal:\n{output}"
        assert process.returncode == 0, output
        assert said_stopping_then_stopped(output), output
        assert "port in use" not in output


def test_a_signal_while_starting_stops_it_at_once(tmp_path: Path) -> None:
    # GIVEN make run starting (moto up, the apps being loaded)
    log = tmp_path / "run.log"
    ports, first = start_on_free_ports(log)
    with started(ports, log, first) as process:
        deadline = time.monotonic() + 30
        while "starting hookrelay" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        # WHEN SIGTERM reaches its group before it is ready
        took = stop(process, signal.SIGTERM)
    # THEN it abandons the start and stops what had started, within the limit
    output = log.read_text()
    assert took < STOP_LIMIT_S, output
    assert process.returncode == 0, output
    assert said_stopping_then_stopped(output), output
    assert "ready in" not in output


STUCK_STOP = textwrap.dedent(
    """
    import sys, time
    from hookrelay_local.shutdown import Stopper
    with Stopper(grace_s=1.0) as stopper:
        stopper.started()
        print("up", flush=True)
        stopper.requested.wait()
        print("stopping ...", flush=True)
        time.sleep(60)  # a stop that hangs (a join, a write to a full pipe)
    """
)


def test_a_stop_that_hangs_is_ended_after_the_grace() -> None:
    # GIVEN a process whose graceful stop hangs
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK_STOP], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "up\n"
    # WHEN SIGTERM arrives
    took = stop(process, signal.SIGTERM)
    # THEN the watchdog ends it 1 s (its grace) later, with 128 + SIGTERM
    assert process.stdout.read() == "stopping ...\n"
    assert 0.9 < took < 3.0
    assert process.returncode == 128 + signal.SIGTERM
