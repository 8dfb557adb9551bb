"""Partner endpoints for benchmarks, each in its own process so it does not share our GIL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bench.cpus import confine_service


@contextmanager
def receiver_process(delay: float = 0.0, status: int = 200, elsewhere: bool = False) -> Iterator[str]:
    """Start hookrelay_local.partner_server in a subprocess; yield its URL. ``elsewhere``: on the CPUs
    the measured code does not run on (bench.cpus)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hookrelay_local.partner_server",
            "--delay",
            str(delay),
            "--status",
            str(status),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    if elsewhere:
        confine_service(process.pid)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


# moto's server as `python -m moto.server` runs it, with event source mappings stored but never acted
# on by moto (hookrelay_local.embedded_aws): the local Lambda runtime is the poller. A long-lived server:
# its collector tuned as one (hookrelay_local.moto_serving).
_MOTO_SERVER = (
    "from hookrelay_local.embedded_aws import keep_moto_from_consuming; keep_moto_from_consuming(); "
    "from moto.server import main; "
    "from hookrelay_local.moto_serving import tune_collector_for_a_server; tune_collector_for_a_server(); "
    "main()"
)


@contextmanager
def moto_process(elsewhere: bool = False) -> Iterator[str]:
    """moto's server in its own process (as AWS is: a network service, not our CPU); yield its URL.
    ``elsewhere``: on the CPUs the measured code does not run on (bench.cpus)."""
    import socket
    import time
    import urllib.request

    for _ in range(3):  # it must be told its port: another process may take it first, then it exits
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-c", _MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if elsewhere:
            confine_service(process.pid)
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()  # noqa: S310 - loopback
                break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        if process.poll() is None:
            break
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
