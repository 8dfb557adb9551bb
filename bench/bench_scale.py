"""`make bench-scale`: the whole local stack at N = 10, 100 and 1,000 partners (issue 13, item 9).

For each N, on a fresh moto server in its own process (bench.receivers.moto_process, as AWS is a network
service and not our CPU) and a fresh local stack in THIS process (provisioner REST API, Lambda runtime,
results recorder: ``LocalStack`` with ``aws_endpoint``), with one idle sink HTTP server on 127.0.0.1 as
every partner's URL:

1. create one partner alone, untimed (it publishes the stage's shared handler layer and role: a cost
   paid once per stage, not per partner; four first creates at once would each publish a layer), then
   the other N - 1 through ``POST /partners`` from ``BENCH_SCALE_CLIENTS`` (4) API clients at once (so
   1,000 take minutes, not a quarter of an hour): seconds per partner (wall time / (N - 1): the fleet's
   rate), AWS calls per create, the median request's own duration, and the CPU per partner of this
   process and of moto's (``/proc``: user + system, whatever thread spent it, the fleet's idle work
   included);
2. wait until the runtime polls every partner, then idle ``BENCH_SCALE_SECONDS`` (30): this process's
   CPU (the stack: API, runtime, recorder, the idle sink) and moto's, in % of one core, the stack's
   split by thread (the runtime's pollers, its discovery, the rest); RSS of both;
3. publish one webhook to every partner (``POST /partners/{id}/events``, same clients): p99 of
   publish-to-receipt at the sink;
4. update-code over every partner (a new artifact is uploaded first, so every function really moves):
   seconds and AWS calls per partner. The synchronous 200 answer and the 202 + ``GET /rollouts/{id}``
   contract are both followed;
5. delete a sample of ``min(N, BENCH_SCALE_DELETES)`` (50) partners: seconds and AWS calls per delete.

AWS calls are botocore calls made in this process outside the runtime's own threads (bench.scale_tools).
Prints one line per N and the issue's summary line; asserts nothing about timings.
``BENCH_SCALE_NS=10,100`` runs the quick sizes only.

The create ratio (the largest N's seconds per partner against the smallest's) is a ratio of wall times
taken minutes apart on a machine other work shares: the smallest N is measured again after the largest,
and the ratio's base is the mean of its two runs (load that rises or falls through a run counts on both
sides; neither run alone is picked). The same ratio in CPU of both processes is printed beside it. This
process (the stack, as ``make run``'s) and moto's run with their collector tuned as long-lived servers
(``hookrelay_local.moto_serving``), at every N.
"""

from __future__ import annotations

import io
import logging
import os
import statistics
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

from bench.isolation_stack import quiet_logging
from bench.receivers import moto_process
from bench.scale_tools import Api, AwsCalls, Sink, moto_pid, process_cpu_s, rss_mb, thread_cpu_s
from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.provisioning.resources.artifact import latest_artifact, upload_artifact
from hookrelay_local.moto_serving import collector_tuned
from hookrelay_local.stack import LocalStack, StackOptions

SIZES = [int(n) for n in os.environ.get("BENCH_SCALE_NS", "10,100,1000").split(",")]
SECONDS = float(os.environ.get("BENCH_SCALE_SECONDS", "30"))
CLIENTS = int(os.environ.get("BENCH_SCALE_CLIENTS", "4"))
DELETES = int(os.environ.get("BENCH_SCALE_DELETES", "50"))
SETTLE_S = 5.0
STAGE = "bench"
LOG_FILE = Path(".hookrelay") / "bench-scale-errors.log"  # the stack's ERROR lines (the rest: nowhere)


@dataclass(frozen=True)
class Step:
    seconds: float  # per partner: wall time / N (with CLIENTS at once: the fleet's rate)
    calls: float  # AWS calls per partner
    median_call_s: float = float("nan")  # one request's own duration (create)
    cpu_ms: float = float("nan")  # CPU per partner, ms: this process (the stack) (create)
    moto_cpu_ms: float = float("nan")  # and moto's process


@dataclass(frozen=True)
class Figures:
    partners: int
    create: Step
    update_code: Step
    delete: Step
    cpu: float  # % of a core: the stack's process while idle
    moto_cpu: float
    cpu_split: dict[str, float]  # the stack's idle CPU by thread group, % of a core
    rss_mb: float
    moto_rss_mb: float
    p99_ms: float
    rollout: str


def timed(calls: AwsCalls, count: int, run: object) -> Step:
    """Run ``run()`` (a callable); its wall time and counted AWS calls, per one of ``count``."""
    before, started = calls.total(), time.monotonic()
    run()  # type: ignore[operator]
    return Step((time.monotonic() - started) / count, (calls.total() - before) / count)


def wait_polled(stack: LocalStack, ids: list[str], timeout_s: float) -> None:
    names = {naming.partner_function(STAGE, p) for p in ids}
    assert stack.runtime is not None
    deadline = time.monotonic() + timeout_s
    while not names <= stack.runtime.polling():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(names - stack.runtime.polling())} partners not polled")
        time.sleep(0.5)


def idle(moto: int) -> tuple[float, float, dict[str, float]]:
    """(this process's CPU, moto's, this process's by thread group) in % of a core over SECONDS idle."""
    split, cpu, moto_cpu, wall = thread_cpu_s(), process_cpu_s(), process_cpu_s(moto), time.monotonic()
    time.sleep(SECONDS)
    wall = time.monotonic() - wall
    split = {group: 100 * (s - split.get(group, 0.0)) / wall for group, s in thread_cpu_s().items()}
    return 100 * (process_cpu_s() - cpu) / wall, 100 * (process_cpu_s(moto) - moto_cpu) / wall, split


def p99_ms(api: Api, sink: Sink, ids: list[str]) -> float:
    """Publish one webhook to every partner; p99 of publish-to-receipt at the sink, in ms."""
    sent: dict[str, float] = {}

    def publish(partner_id: str) -> None:
        started = time.time()
        body = {"topic": "bench.scale", "payload": {}}
        answer = api.call("POST", f"/partners/{partner_id}/events", body, ok=(200, 202))
        sent[answer["webhook_id"]] = started

    api.parallel(publish, ids)
    deadline = time.monotonic() + 120
    while sink.count(sent) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.2)
    latencies = [1000 * (sink.arrived[w] - t) for w, t in sent.items() if w in sink.arrived]
    if len(latencies) < len(sent):
        print(f"  ({len(sent) - len(latencies)} webhooks not received within 120 s)", flush=True)
    return statistics.quantiles(latencies, n=100, method="inclusive")[98] if len(latencies) > 1 else 0.0


def new_artifact() -> None:
    """Upload the current handler package with one file added, so update-code moves every function."""
    clients = Clients()
    bucket = naming.artifact_bucket(STAGE)
    latest = latest_artifact(bucket, clients)
    package = clients.s3.get_object(Bucket=bucket, Key=latest.code_key)["Body"].read()
    buffer = io.BytesIO(package)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("bench_scale_marker.txt", str(time.time()))
    layer = None
    if latest.layer_key is not None:  # the same layer: only the small code zip changes (as a code release)
        layer = clients.s3.get_object(Bucket=bucket, Key=latest.layer_key)["Body"].read()
    upload_artifact(buffer.getvalue(), bucket, clients, layer=layer)


def measure(partners: int, options: StackOptions) -> Figures:
    ids = [f"s{i:04d}" for i in range(partners)]
    sink, calls, api_clients = Sink(), AwsCalls(), min(CLIENTS, partners)
    with (
        moto_process() as url,
        LocalStack(replace(options, aws_endpoint=url)) as stack,
        collector_tuned(),  # this process serves as long as `make run`'s does, and is tuned as it is
        calls.counting(),
    ):
        api = Api(stack.api_url, api_clients)
        moto = moto_pid(url)

        latencies: list[float] = []

        failures: list[str] = []

        def create(partner_id: str) -> None:
            started = time.monotonic()
            try:
                api.call("POST", "/partners", {"partner_id": partner_id, "url": sink.server.url})
            except RuntimeError as exc:  # said, and the partner left out of the later steps
                failures.append(str(exc))
                ids.remove(partner_id)
            latencies.append(time.monotonic() - started)

        warm_up = ids[0]
        create(warm_up)  # untimed: the stage's shared layer and role are made by the first create
        latencies.clear()
        timed_ids = [p for p in ids if p != warm_up]
        cpu, moto_cpu = process_cpu_s(), process_cpu_s(moto)
        create_step = timed(calls, max(1, len(timed_ids)), lambda: api.parallel(create, timed_ids))
        per = 1000 / max(1, len(timed_ids))
        create_step = replace(
            create_step,
            median_call_s=statistics.median(latencies),
            cpu_ms=per * (process_cpu_s() - cpu),
            moto_cpu_ms=per * (process_cpu_s(moto) - moto_cpu),
        )
        if failures:
            print(f"  {len(failures)} creates failed (see {LOG_FILE}); first: {failures[0]}", flush=True)
        wait_polled(stack, ids, 60)
        time.sleep(SETTLE_S)
        cpu, moto_cpu, split = idle(moto)
        rss, moto_rss = rss_mb(), rss_mb(moto)
        p99 = p99_ms(api, sink, ids)
        new_artifact()
        rollout: dict[str, object] = {}
        update_step = timed(calls, partners, lambda: rollout.update(api.update_code()))
        if rollout.get("failed"):  # say why, while the stack still runs (a rerun of update-code retries them)
            failed = api.call("GET", f"/rollouts/{rollout['rollout_id']}?outcome=failed&limit=3")
            print(f"  update-code failures: {[r.get('error') for r in failed['results']]}", flush=True)
        sample = ids[: min(partners, DELETES)]
        delete_step = timed(
            calls, len(sample), lambda: api.parallel(lambda p: api.call("DELETE", f"/partners/{p}"), sample)
        )
    sink.server.stop()
    summary = ", ".join(f"{k} {rollout[k]}" for k in ("succeeded", "failed", "skipped") if k in rollout)
    return Figures(
        partners, create_step, update_step, delete_step, cpu, moto_cpu, split, rss, moto_rss, p99, summary
    )


def describe(f: Figures) -> str:
    create, update, delete = f.create, f.update_code, f.delete
    return (
        f"N={f.partners:>5}: create {create.seconds:.3f} s/partner ({create.calls:.1f} AWS calls, median "
        f"request {create.median_call_s:.2f} s, CPU {create.cpu_ms:.0f} ms + moto's {create.moto_cpu_ms:.0f} "
        f"ms); update-code {update.seconds:.3f} s/partner "
        f"({update.calls:.1f} calls; {f.rollout}); delete {delete.seconds:.3f} s ({delete.calls:.1f} calls); "
        f"idle CPU {f.cpu:.1f}% ({', '.join(f'{g} {c:.1f}%' for g, c in f.cpu_split.items())}; "
        f"moto {f.moto_cpu:.1f}%); RSS {f.rss_mb:.0f} MB "
        f"(moto {f.moto_rss_mb:.0f} MB); p99 {f.p99_ms:.0f} ms; load {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    quiet_logging()
    LOG_FILE.parent.mkdir(exist_ok=True)
    errors = logging.FileHandler(LOG_FILE)
    errors.setLevel(logging.ERROR)
    logging.getLogger().addHandler(errors)
    logging.getLogger("hookrelay_local").setLevel(logging.WARNING)
    # At 1,000 partners one IAM role each meets IAM's default 1,000 roles (create's capacity check refuses
    # the last ones with a 409): measure the mode docs/scale.md advises past ~900 partners.
    role = os.environ.setdefault("HOOKRELAY_HANDLER_ROLE", "shared")
    load = os.getloadavg()[0]
    print(
        f"load {load:.2f} on {os.cpu_count()} cores; {CLIENTS} API clients; idle {SECONDS:g} s; "
        f"handler role {role}",
        flush=True,
    )
    options = StackOptions(api_port=0, receiver_port=0, stage=STAGE)
    results = []
    for partners in SIZES:
        results.append(measure(partners, options))
        print(describe(results[-1]), flush=True)
    top, bases = results[-1], [results[0]]
    if len(SIZES) > 1:  # the smallest size again, last: see ratio()
        bases.append(measure(SIZES[0], options))
        print(f"again {describe(bases[-1])}", flush=True)
    base_s = statistics.mean(b.create.seconds for b in bases)
    base_cpu = statistics.mean(b.create.cpu_ms + b.create.moto_cpu_ms for b in bases)
    top_cpu = top.create.cpu_ms + top.create.moto_cpu_ms
    print(
        f"create at N={top.partners} against N={bases[0].partners} (the mean of its {len(bases)} runs, "
        f"{', '.join(f'{b.create.seconds:.3f}' for b in bases)} s): wall {top.create.seconds / base_s:.2f}x, "
        f"CPU of both processes {top_cpu:.0f} ms against {base_cpu:.0f} ms a partner "
        f"({top_cpu / base_cpu:.2f}x)"
    )
    print(
        f"scale: {top.partners} partners; create {top.create.seconds:.3f} s/partner "
        f"({top.create.seconds / base_s:.2f}x of N={bases[0].partners}); update-code "
        f"{top.update_code.seconds:.3f} s; idle CPU {top.cpu:.1f}%; p99 {top.p99_ms:.0f} ms"
    )


if __name__ == "__main__":
    main()
