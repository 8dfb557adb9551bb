"""The handler's CPU per webhook, next to a bare HTTP client loop's CPU per POST, measured in one run.

CPU is ``time.process_time`` of this process (every thread), so a shared, noisy machine moves it far
less than wall time (though not by nothing: on 2 shared cores the same loop's figure moves by up to 2x
between runs; compare figures of one run). AWS (moto's server) and the receiver (answering at once) run
in their own processes: what is counted is the handler's own work, its AWS calls made as in Lambda through
its own AWS clients (the lean ``aws.wire``). A delivered batch makes none: the attempt records are the
attempts' JSON log lines (formatted as in Lambda, written to ``/dev/null``), which a CloudWatch Logs
subscription takes to the recorder. The results queue's ``SendMessageBatch`` that published them until
issue 15's last round (~3 ms of CPU a batch with botocore, ~70 us a webhook with ``aws.wire``) is gone;
its cost moved to CloudWatch Logs ingestion, already paid for the log line.

1. CPU per delivered webhook of ``handle_batch`` (10-record batches, one instance posting 10 at a time,
   as ``bench_handler``'s first shape), and CPU per POST of bare loops on 10 threads over 10 keep-alive
   connections: ``requests.Session().post`` and ``urllib3.HTTPConnectionPool.urlopen``. The ratio is
   taken against the library the handler posts with (``TRANSPORT_LIBRARY``). Target: <= 1.5. Next to it,
   for comparison: the same handler with botocore clients (what it used before ``aws.wire``), and posting
   one at a time (what its 10 threads cost it: the GIL passing between threads at every socket call).
2. Where the handler's CPU goes, by stage: cProfile with a per-thread CPU clock over serial batches
   (post concurrency 1, so every stage runs on the profiled thread), each stage the cumulative time of
   the functions that do it (:data:`STAGES`), as a share of ``handle_batch``; the shares are then
   applied to the unprofiled CPU per webhook of step 1, since profiling inflates every call alike.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import time
from typing import Any

import boto3

from bench.bench_handler import _quiet_logging, instance_run, poster, timed_loop
from bench.cpus import measured_here, placement
from bench.receivers import moto_process, receiver_process
from hookrelay.delivery.transport import TRANSPORT_LIBRARY
from tests.support.handler_stack import PartnerStack, build_partner_stack

CONCURRENCY = 10
BATCHES = 30  # 300 webhooks per round
ROUNDS = 5  # medians of 5: on 2 shared cores a round moves by up to 2x

# stage -> the functions (module path suffix, function name) whose cumulative CPU is that stage's.
# "POST" is the HTTP exchange less what the stages inside it (sign, body, SSRF) account for.
STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "parse (SQS event, message)": (("delivery/batch.py", "parse_event"), ("delivery/decide.py", "admit")),
    "body (envelope JSON)": (("hookrelay/models.py", "http_body"),),
    "sign": (("delivery/attempt.py", "request_headers"),),
    "SSRF check + pinning": (
        ("hookrelay/ssrf.py", "validate_url"),
        ("delivery/transport.py", "checked_address"),
    ),
    "POST (HTTP client)": (  # the phased batch's pieces of an attempt (attempt_delivery's too): its
        ("delivery/attempt.py", "prepare_request"),  # exchange on a delivery thread, or sent and read
        ("delivery/attempt.py", "exchange"),  # from the invoking thread (delivery/posting.py)
        ("delivery/transport.py", "send_now"),
        ("delivery/posting.py", "_due"),
        ("delivery/posting.py", "_read"),
        ("delivery/attempt.py", "classify"),
    ),
    "log line (the attempt record)": (("delivery/report.py", "log_attempt"),),
    "EMF metrics": (("delivery/report.py", "emit_metrics"),),
    "attempt record (build)": (("delivery/report.py", "attempted"),),
    "settle (decide + next step)": (
        ("delivery/decide.py", "after_attempt"),
        ("delivery/settle.py", "settle"),
    ),
}
# What each stage's functions include that another stage counts: subtracted from it.
INSIDE: dict[str, tuple[str, ...]] = {
    "POST (HTTP client)": ("body (envelope JSON)", "sign", "SSRF check + pinning"),
    "attempt record (build)": ("log line (the attempt record)",),
}


def bare_loop(url: str, total: int, library: str) -> tuple[float, float]:
    """(CPU seconds per POST, POSTs per second): 10 threads sharing 10 keep-alive connections."""
    return timed_loop(poster(url, library), total)


def handler_run(
    stack: PartnerStack, posts: int, batches: int, clients: dict[str, Any] | None = None
) -> tuple[float, float]:
    """(CPU seconds per webhook, webhooks per second) of one handler instance over ``batches`` batches
    (:func:`bench.bench_handler.instance_run`)."""
    run = instance_run(stack, posts, batches, clients)
    return run.cpu_per_item, run.rate


def stage_shares(stack: PartnerStack, batches: int) -> dict[str, float]:
    """Each stage's share of ``handle_batch``'s CPU, from a thread-CPU cProfile of serial batches."""
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    handler_run(stack, 1, batches)
    profile.disable()
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]

    def cumulative(functions: tuple[tuple[str, str], ...]) -> float:
        return sum(
            entry[3]
            for (path, _line, name), entry in stats.items()
            for suffix, wanted in functions
            if name == wanted and path.replace(os.sep, "/").endswith(suffix)
        )

    total = cumulative((("delivery/batch.py", "handle_batch"),))
    raw = {stage: cumulative(functions) for stage, functions in STAGES.items()}
    own = {stage: raw[stage] - sum(raw[inner] for inner in INSIDE.get(stage, ())) for stage in raw}
    own["other (batch loop, threads, decide)"] = total - sum(own.values())
    return {stage: value / total for stage, value in own.items()}


def main() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.update(POWERTOOLS_METRICS_DISABLED="true", AWS_XRAY_SDK_ENABLED="false")
    _quiet_logging()
    print(placement())
    with (
        measured_here(),  # (the threads started inside inherit it)
        moto_process(elsewhere=True) as aws,
        receiver_process(delay=0.0, elsewhere=True) as url,
    ):
        os.environ["AWS_ENDPOINT_URL"] = aws  # the handler's default (lean) AWS clients call moto's server
        sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=aws)
        secrets = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=aws)
        stack = build_partner_stack(
            sqs, secrets, url, post_concurrency=CONCURRENCY, partner_id="cpu", capture_lines=False
        )
        libraries = ("requests", "urllib3")
        bare: dict[str, list[tuple[float, float]]] = {lib: [] for lib in libraries}
        shapes: dict[str, list[tuple[float, float]]] = {shape: [] for shape in SHAPES}
        for library in libraries:
            bare_loop(url, 100, library)
        botocore = {"sqs": sqs, "secretsmanager": secrets}
        for _ in range(ROUNDS):  # interleaved, so drift hits all alike
            for library in libraries:
                bare[library].append(bare_loop(url, BATCHES * 10, library))
            shapes[HANDLER].append(handler_run(stack, CONCURRENCY, BATCHES))
            shapes[BOTOCORE].append(handler_run(stack, CONCURRENCY, BATCHES, botocore))
            shapes[SERIAL].append(handler_run(stack, 1, BATCHES))
        shares = stage_shares(stack, BATCHES)
        report(bare, shapes, shares)  # before the servers stop: a slow shutdown must not lose it


HANDLER = "handle_batch, 1 instance x 10 posts"
BOTOCORE = "  the same, AWS calls through botocore"
SERIAL = "  the same, posting one at a time"
SHAPES = (HANDLER, BOTOCORE, SERIAL)


def report(
    bare: dict[str, list[tuple[float, float]]],
    shapes: dict[str, list[tuple[float, float]]],
    shares: dict[str, float],
) -> None:
    h_cpu = statistics.median(cpu for cpu, _ in shapes[HANDLER])
    print(f"CPU per webhook, receiver answering at once, {BATCHES * 10} webhooks x {ROUNDS} rounds (median):")
    base_cpu = 0.0
    for library, runs in bare.items():
        cpu, rate = (statistics.median(v) for v in zip(*runs, strict=True))
        mark = "  <- the handler's library" if library == TRANSPORT_LIBRARY else ""
        print(
            f"  bare {library:<9} loop, 10 threads    {cpu * 1e6:7.0f} us CPU/POST   {rate:6.0f} req/s{mark}"
        )
        base_cpu = cpu if library == TRANSPORT_LIBRARY else base_cpu
    for shape, runs in shapes.items():
        cpu, rate = (statistics.median(v) for v in zip(*runs, strict=True))
        print(f"  {shape:<37} {cpu * 1e6:5.0f} us CPU/webhook {rate:6.0f} webhooks/s")
    print(f"  ratio handler CPU / bare {TRANSPORT_LIBRARY} CPU     {h_cpu / base_cpu:7.2f}   (target <= 1.5)")
    print("where the handler's CPU goes (cProfile, thread CPU, serial batches; share x CPU/webhook above):")
    for stage, share in shares.items():
        print(f"  {stage:<38} {share * 100:5.1f} %  {share * h_cpu * 1e6:6.0f} us")


if __name__ == "__main__":
    main()
