"""Cold start of the packaged handler, next to a bare baseline, each in a fresh interpreter (median of 10).

- **handler**: a fresh ``python -S`` (no site-packages) whose path is what Lambda gives a function: the
  unpacked deployment package first (``/var/task``), then any layer's ``python/`` (``/opt/python``), then
  only the runtime's own libraries from our virtualenv (boto3, botocore, s3transfer, jmespath, dateutil,
  six, urllib3: ``/var/runtime``). It imports ``app`` from the package, and ``app.deliver`` handles a first
  10-record batch against a loopback receiver answering at once: settings from the environment, logging,
  tracing (``AWS_LAMBDA_FUNCTION_NAME`` and ``LAMBDA_TASK_ROOT`` are set, as in Lambda), the signing key
  read from Secrets Manager, ten signed POSTs, the attempt records published, the EMF line. Measured
  twice, with the tracing header Lambda sets (``_X_AMZN_TRACE_ID``) on an active-tracing function:
  **unsampled** (``Sampled=0``, most invocations: X-Ray is not loaded) and **sampled** (``Sampled=1``:
  the SDK is loaded and patched, and its segments go to a UDP socket standing in for the daemon).
- **baseline**: the same interpreter and path; imports boto3 and the HTTP client library the handler posts
  with, and makes the same 10 POSTs over one keep-alive pool.

Measured to the first batch done (the child reports the moment and its CPU, user + system of all its
threads, when its work is done: Lambda keeps the process after a cold start, so the interpreter's
teardown, ~90 ms of CPU for the handler with its boto3 clients, ~30 ms for the baseline, is no part of
it), and, in parentheses, to the child's exit (wall time from spawn, CPU from ``wait4``). The handler's
AWS calls go to moto's server in its own process (so its CPU is not counted); they are counted by moto's
request recorder (``MOTO_ENABLE_RECORDING``), per cold start.

The handler's environment has credentials as Lambda gives a function its role's: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY`` (and, in Lambda, ``AWS_SESSION_TOKEN``), no ``AWS_CREDENTIAL_EXPIRATION``, so
the lean AWS caller signs with them without botocore's resolver, as it does in Lambda. It does not set
``PYDANTIC_DISABLE_PLUGINS`` and neither does the provisioner: pydantic's scan for plugins costs ~0.6 ms
of CPU in this layout (docs/handler-cost.md, fourth pass).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from bench.receivers import moto_process, receiver_process
from hookrelay.delivery.transport import TRANSPORT_LIBRARY
from tests.support.handler_stack import NOW
from tests.support.sqs import sqs_event

RUNS = 10
# What the Lambda Python runtime provides itself (/var/runtime), taken from our virtualenv.
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
# The tracing header Lambda gives an invocation of an active-tracing function, per sampling decision.
TRACE_HEADERS = {
    "unsampled": "Root=1-6762f3a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0",
    "sampled": "Root=1-6762f3a1-89abcdef0123456789abcdef;Parent=557abcec3ee5a047;Sampled=1",
}

_HANDLER = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import app
class Context:
    function_name = "hookrelay-bench-cold"
    aws_request_id = "cold-start"
answer = app.deliver(json.loads(sys.stdin.read()), Context())
assert answer == {"batchItemFailures": []}, answer
"""
# Appended to both children: the moment and the CPU (all threads) at which their work is done.
_DONE = """
import resource, time
sys.stdout.flush()
usage = resource.getrusage(resource.RUSAGE_SELF)
sys.stderr.write(json.dumps({"done": time.monotonic(), "cpu": usage.ru_utime + usage.ru_stime}) + "\\n")
"""
_BASELINE = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import boto3, {library}
url = sys.argv[2]
sys.stdin.read()
body = b'{{"type":"transfer.created","timestamp":"2026-11-23T12:00:00Z","data":{{"amount":"5.00"}}}}'
{posts}
"""
_POSTS = {
    "requests": "s = requests.Session()\nfor _ in range(10):\n"
    "    assert s.post(url, data=body, headers={'Content-Type': 'application/json'},"
    " timeout=10).status_code == 200",
    "urllib3": "pool = urllib3.connection_from_url(url, maxsize=10)\nfor _ in range(10):\n"
    "    assert pool.urlopen('POST', '/', body=body, headers={'Content-Type': 'application/json'},"
    " timeout=10.0, retries=False).status == 200",
}


def unpack(zips: list[Path], into: Path) -> list[str]:
    """Unpack a code zip and any layer zips beside each other; return them as Lambda's path orders them
    (the code first, then each layer's ``python/``, or its root if it has none)."""
    paths = []
    for index, archive in enumerate(zips):
        target = into / f"{index}-{archive.stem}"
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(target)
        paths.append(str(target / "python" if (target / "python").is_dir() else target))
    return paths


def runtime_dir(into: Path) -> str:
    """A directory holding only what the Lambda runtime provides, linked from this virtualenv."""
    import boto3

    site = Path(boto3.__file__).resolve().parents[1]
    target = into / "runtime"
    target.mkdir()
    for name in RUNTIME_LIBRARIES:
        (target / name).symlink_to(site / name)
    return str(target)


Run = tuple[float, float, float, float]
"""(wall, CPU) seconds to the first batch done, then (wall, CPU) to the process's exit."""


def spawn(code: str, args: list[str], stdin: str, env: dict[str, str]) -> Run:
    """Run ``python -S -B -c code`` (no bytecode is written, as in Lambda, whose ``/var/task`` and
    ``/opt`` are read-only) to its exit: wall seconds from spawn and the child's CPU seconds (from
    ``wait4``), both when its work is done (its own report: Lambda keeps the process after a cold
    start, so the interpreter's teardown is no part of it) and at its exit."""
    started = time.monotonic()  # CLOCK_MONOTONIC: the child's report reads the same clock
    process = subprocess.Popen(
        [sys.executable, "-S", "-B", "-c", code + _DONE, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert process.stdin is not None
    assert process.stderr is not None
    process.stdin.write(stdin)
    process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    error = process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"cold start child failed:\n{error[-3000:]}")
    done = json.loads(error.strip().splitlines()[-1])
    return done["done"] - started, done["cpu"], wall, usage.ru_utime + usage.ru_stime


def aws_calls(aws: str) -> Counter[str]:
    """The AWS operations moto's recorder saw since the last call (then it starts a new recording)."""
    with urllib.request.urlopen(aws + "/moto-api/recorder/download-recording", timeout=10) as answer:  # noqa: S310
        lines = answer.read().decode().splitlines()
    _moto_api(aws, "reset-recording")
    calls: Counter[str] = Counter()
    for line in lines:
        headers = json.loads(line).get("headers", {})
        calls[headers.get("X-Amz-Target", "").rpartition(".")[2] or "(other)"] += 1
    return calls


def _moto_api(aws: str, action: str) -> None:
    request = urllib.request.Request(f"{aws}/moto-api/recorder/{action}", method="POST")  # noqa: S310
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback


def handler_env(aws: str, url: str, task: str) -> dict[str, str]:
    """A partner function's environment (as the provisioner writes it), pointing at moto."""
    import boto3

    from tests.support.handler_stack import build_partner_stack

    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=aws)
    secrets = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=aws)
    stack = build_partner_stack(sqs, secrets, url, partner_id="cold", post_concurrency=5)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(stack.settings.to_environment())
    env.update(
        AWS_ENDPOINT_URL=aws,
        AWS_LAMBDA_FUNCTION_NAME="hookrelay-bench-cold",
        LAMBDA_TASK_ROOT=task,
        POWERTOOLS_METRICS_DISABLED="false",
    )
    return env


def package_zips() -> list[Path]:
    """The handler's Lambda package as `make package` builds it: its code zip and its dependency layer."""
    from hookrelay_local.artifacts import build_handler_artifact

    build = build_handler_artifact()
    return [build.code, build.layer]


@contextlib.contextmanager
def _moto_recording(path: Path) -> Iterator[None]:
    """moto processes started within record their calls to ``path``; after, none does (``make bench``
    runs every bench in one process: a later bench's moto would record into a deleted directory and
    answer 500)."""
    os.environ.update(MOTO_ENABLE_RECORDING="true", MOTO_RECORDER_FILEPATH=str(path))
    try:
        yield
    finally:
        for name in ("MOTO_ENABLE_RECORDING", "MOTO_RECORDER_FILEPATH"):
            os.environ.pop(name, None)


def main() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    zips = package_zips()
    with tempfile.TemporaryDirectory() as tmp, _moto_recording(Path(tmp) / "recording"):
        paths = [*unpack(zips, Path(tmp)), runtime_dir(Path(tmp))]
        with (
            moto_process() as aws,
            receiver_process(delay=0.0) as url,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon,
        ):
            daemon.bind(("127.0.0.1", 0))  # the X-Ray daemon: segments arrive, nobody reads them
            env = handler_env(aws, url, paths[0])
            env["AWS_XRAY_DAEMON_ADDRESS"] = "{}:{}".format(*daemon.getsockname())
            _moto_api(aws, "start-recording")
            aws_calls(aws)
            event = json.dumps(sqs_event([_body(env) for _ in range(10)]))
            baseline = _BASELINE.format(library=TRANSPORT_LIBRARY, posts=_POSTS[TRANSPORT_LIBRARY])
            runs: dict[str, list[Run]] = {name: [] for name in [*TRACE_HEADERS, "baseline"]}
            calls: list[Counter[str]] = []
            for _ in range(RUNS):  # interleaved, so drift hits all alike
                for name, header in TRACE_HEADERS.items():
                    runs[name].append(spawn(_HANDLER, [json.dumps(paths)], event, {**env, _TRACE: header}))
                    calls.append(aws_calls(aws))
                runs["baseline"].append(spawn(baseline, [json.dumps(paths), url], "", env))
                aws_calls(aws)
            report(runs, calls, zips)  # before the servers stop: a slow shutdown must not lose it


_TRACE = "_X_AMZN_TRACE_ID"


def _body(env: dict[str, str]) -> str:
    from hookrelay.models import WebhookMessage

    partner = env["HOOKRELAY_PARTNER_ID"]
    return WebhookMessage(
        partner_id=partner, topic="transfer.created", payload={"amount": "5.00"}, created_at=NOW
    ).to_sqs_body()


LABELS = {
    "unsampled": "packaged handler, unsampled (Sampled=0)",
    "sampled": "packaged handler, sampled (X-Ray loaded)",
    "baseline": f"baseline: import boto3 + {TRANSPORT_LIBRARY}, 10 POSTs",
}


def report(runs: dict[str, list[Run]], calls: list[Counter[str]], zips: list[Path]) -> None:
    print(
        f"cold start, fresh interpreter to first 10-record batch done, median of {RUNS}"
        f" (package: {', '.join(f'{z.name} {z.stat().st_size / 1024:.0f} KiB' for z in zips)}):"
    )
    medians: dict[str, list[float]] = {}
    for name, values in runs.items():
        medians[name] = [statistics.median(v) for v in zip(*values, strict=True)]
        wall, cpu, exit_wall, exit_cpu = (m * 1000 for m in medians[name])
        label = LABELS.get(name, name)
        print(
            f"  {label:<50} {wall:6.0f} ms wall {cpu:6.0f} ms CPU"
            f"   (to exit: {exit_wall:4.0f} wall {exit_cpu:4.0f} CPU)"
        )
    bw, bc, bxw, bxc = medians["baseline"]
    for name in TRACE_HEADERS:
        hw, hc, hxw, hxc = medians[name]
        label = f"ratio {name} / baseline"
        print(
            f"  {label:<50} {hw / bw:6.2f} wall   {hc / bc:6.2f} CPU"
            f"   (to exit: {hxw / bxw:4.2f} wall {hxc / bxc:4.2f} CPU; target <= 1.3)"
        )
    per_run = sorted({json.dumps(dict(sorted(c.items()))) for c in calls})
    print(f"  AWS calls per handler cold start (moto's recorder): {' | '.join(per_run)}")


if __name__ == "__main__":
    main()
