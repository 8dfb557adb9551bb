"""The local Lambda runtime's idle cost at N = 10, 100 and 1,000 partners, on moto in its own process.

For each N, on a fresh moto server (bench.receivers.moto_process): N queues, N functions (Handler
``bench.noop``, a trivial callable) and N SQS mappings, made directly with boto3. Then the runtime
(``LocalLambdaRuntime``, defaults: discovery every 1 s, 20 s long polls) runs in this process; once it
polls every partner and has settled, it is measured while idle for ``SECONDS``:

- its CPU (``time.process_time``, this process: the runtime is all that runs here) and moto's
  (``/proc/<pid>/stat``), in % of one core;
- the Lambda API calls per discovery tick (botocore ``before-call`` hooks) and the SQS ReceiveMessage
  calls per second (the runtime's lean receiver counts them);
- threads and resident memory;
- then one more partner is created and sent one message: seconds until its first invocation.

Prints figures and ratios; asserts nothing about timings. ``BENCH_RUNTIME_SCALE_N=10,100`` and
``BENCH_RUNTIME_SCALE_SECONDS=10`` shorten it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.receivers import moto_process
from bench.scale_tools import moto_pid, process_cpu_s, rss_mb
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime, local_client

SIZES = [int(n) for n in os.environ.get("BENCH_RUNTIME_SCALE_N", "10,100,1000").split(",")]
SECONDS = float(os.environ.get("BENCH_RUNTIME_SCALE_SECONDS", "30"))
SETTLE_S = 3.0
HANDLER = "bench.noop"
ROLE = "arn:aws:iam::123456789012:role/bench-runtime"
TARGET_IDLE_CPU = 10.0  # % of a core at 1,000 partners (issue 13)


@dataclass(frozen=True)
class Figures:
    partners: int
    cpu: float  # % of a core, the runtime's process
    moto_cpu: float
    lambda_calls_per_tick: float
    lambda_calls: str  # by operation, over the window
    receives_per_s: float
    threads: int
    rss_mb: float
    first_pickup_s: float


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bench.py", "def noop(event, context):\n    return None\n")
    return buffer.getvalue()


def create_partners(url: str, names: list[str]) -> dict[str, str]:
    """Queue, function and mapping per name; return the queue URLs by name."""
    sqs, lambda_ = local_client("sqs", url, "us-east-1"), local_client("lambda", url, "us-east-1")
    code, urls = _code(), {}
    for name in names:
        urls[name] = sqs.create_queue(QueueName=name)["QueueUrl"]
        lambda_.create_function(
            FunctionName=f"{name}-handler",
            Runtime="python3.11",
            Role=ROLE,
            Handler=HANDLER,
            Code={"ZipFile": code},
            Environment={"Variables": {"PARTNER": name}},
        )
        lambda_.create_event_source_mapping(
            EventSourceArn=f"arn:aws:sqs:us-east-1:123456789012:{name}", FunctionName=f"{name}-handler"
        )
    return urls


def _count(client: Any) -> Counter[str]:
    calls: Counter[str] = Counter()
    client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return calls


def _first_pickup_s(url: str, runtime: LocalLambdaRuntime, invoked: threading.Event) -> float:
    (queue_url,) = create_partners(url, ["newcomer"]).values()
    started = time.monotonic()
    local_client("sqs", url, "us-east-1").send_message(QueueUrl=queue_url, MessageBody="{}")
    invoked.wait(60)
    return time.monotonic() - started


def measure(partners: int) -> Figures:
    with moto_process() as url:
        iam = local_client("iam", url, "us-east-1")
        iam.create_role(RoleName="bench-runtime", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
        create_partners(url, [f"p{i:04d}" for i in range(partners)])
        invoked = threading.Event()
        runtime = LocalLambdaRuntime(url, invokers={HANDLER: lambda *_: invoked.set()}).start()
        try:
            while len(runtime.active_mappings()) < partners:
                time.sleep(0.2)
            time.sleep(SETTLE_S)
            lambda_calls = _count(runtime.lambda_client)
            receives = runtime.receiver.calls
            moto = moto_pid(url)
            cpu, moto_cpu, wall = time.process_time(), process_cpu_s(moto), time.monotonic()
            time.sleep(SECONDS)
            cpu, moto_cpu = time.process_time() - cpu, process_cpu_s(moto) - moto_cpu
            wall = time.monotonic() - wall
            ticks = max(1, lambda_calls["ListEventSourceMappings"])  # one listing per tick
            threads, rss = threading.active_count(), rss_mb()
            lambda_calls, receives = Counter(lambda_calls), runtime.receiver.calls - receives  # the window's
            first = _first_pickup_s(url, runtime, invoked)
        finally:
            runtime.stop(timeout_s=5)
    return Figures(
        partners=partners,
        cpu=100 * cpu / wall,
        moto_cpu=100 * moto_cpu / wall,
        lambda_calls_per_tick=sum(lambda_calls.values()) / ticks,
        lambda_calls=", ".join(f"{op} {n}" for op, n in sorted(lambda_calls.items())),
        receives_per_s=receives / wall,
        threads=threads,
        rss_mb=rss,
        first_pickup_s=first,
    )


def main() -> None:
    logging.getLogger("hookrelay_local").setLevel(logging.WARNING)
    load = os.getloadavg()[0]
    print(f"idle for {SECONDS:g} s per N; machine load average {load:.2f} on {os.cpu_count()} cores")
    results = []
    for partners in SIZES:
        f = measure(partners)
        results.append(f)
        print(
            f"N={f.partners:>5}: runtime idle CPU {f.cpu:5.1f}% (moto {f.moto_cpu:5.1f}%), "
            f"Lambda calls/tick {f.lambda_calls_per_tick:.2f} ({f.lambda_calls}), "
            f"ReceiveMessage/s {f.receives_per_s:6.1f}, threads {f.threads}, RSS {f.rss_mb:.0f} MB, "
            f"new partner's first pickup {f.first_pickup_s:.2f} s",
            flush=True,
        )
    base, top = results[0], results[-1]
    print(
        f"runtime-scale: {top.partners} partners; idle CPU {top.cpu:.1f}% "
        f"(target < {TARGET_IDLE_CPU:g}%; {top.cpu / max(base.cpu, 0.01):.1f}x of N={base.partners}); "
        f"Lambda calls/tick {top.lambda_calls_per_tick:.2f} ({base.lambda_calls_per_tick:.2f} at "
        f"N={base.partners}); first pickup {top.first_pickup_s:.2f} s"
    )


if __name__ == "__main__":
    main()
