"""Partner isolation: a slow partner must not delay the others (issue 9; the Dwolla talk's claim).

10 partners on the local stack (the provisioner's API, the local Lambda runtime running the real
handler per partner, moto as AWS). Partner ``slow`` gets half of all traffic; the nine others share
the rest. A steady load is published for a fixed time, three ways, in one run:

(a) control: no slow partner: ``slow``'s half of the traffic is not published, the others get the
    very same schedule;
(a') control: the same partners and traffic as (b), ``slow`` answering at once;
(b) hookrelay: ``slow`` takes 2 s per request; one queue and one Lambda per partner;
(c) shared-queue baseline: ``slow`` takes 2 s per request; one queue for everyone and one pool of
    workers with the same total concurrency as (b) (bench.shared_queue).

Latency is publish-to-receipt: the publisher stamps the wall-clock time in the payload just before
publishing; the receiver (its own process, bench.latency_receiver) notes when the request arrived.
Every scenario publishes the same way: the message ``POST /partners/{id}/events`` would enqueue, sent
straight to the queue (the API's own time is the same for every partner, and on this one-process
Chalice server it is mostly CPU contention: see docs/isolation-benchmark.md).
Target: (b)'s healthy p99 within 1.5 x (a)'s; (c) shows head-of-line blocking.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from bench.isolation_load import (
    DepthMonitor,
    Published,
    Send,
    cpu_seconds,
    publish_steadily,
    via_queue,
)
from bench.isolation_stack import create_partners, quiet_logging, stack_on
from bench.latency_receiver import Receipt, ReceiverControl, latency_receiver
from bench.receivers import moto_process
from bench.shared_queue import SharedQueuePool
from hookrelay import naming
from hookrelay.settings import HandlerSettings
from hookrelay_local.lambda_runtime.invokers import DELIVER_HANDLER
from hookrelay_local.stack import LocalStack, StackOptions

SLOW = "slow"
PARTNERS = [SLOW, *(f"fast{n}" for n in range(1, 10))]
SLOW_DELAY_S = 2.0
RATE = 20.0  # webhooks published per second, all partners together
DURATION_S = 20.0  # of steady publishing per scenario and round
ROUNDS = 2  # (a), (a') and (b) interleaved, so drift in this machine's load hits each alike
WARM_UP_S = 5.0
RESERVED_CONCURRENCY = 2  # per partner: Lambda instances (the provisioner's minimum, AWS's too)
POST_CONCURRENCY = 1  # per instance: POSTs in parallel within a batch
SETTLE_TIMEOUT_S = 120.0
STAGE = "bench"
MOTO = "moto.server"  # marks moto's process, for its CPU time


@dataclass
class Outcome:
    name: str
    label: str
    published: list[Published] = field(default_factory=list)
    receipts: dict[str, Receipt] = field(default_factory=dict)  # the first receipt per webhook id
    depths: dict[str, int] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    slow_on_time: int = 0  # slow partner's webhooks received by the time the last healthy one was

    def ids(self, healthy: bool) -> set[str]:
        return {p.webhook_id for p in self.published if (p.partner != SLOW) == healthy}

    def healthy_latencies(self) -> list[float]:
        ids = self.ids(healthy=True)
        return sorted(r.latency_s for i, r in self.receipts.items() if i in ids)

    def healthy_split(self) -> tuple[list[float], list[float]]:
        """(publish call, enqueued -> receipt) of each healthy webhook received: where the time went."""
        calls, after = [], []
        for p in self.published:
            receipt = self.receipts.get(p.webhook_id)
            if p.partner != SLOW and receipt is not None:
                calls.append(p.call_s)
                after.append(receipt.latency_s - p.call_s)
        return sorted(calls), sorted(after)

    def delivered(self) -> str:
        ids = self.ids(healthy=True)
        return f"{len(ids & self.receipts.keys())}/{len(ids)}"


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (float("nan"),) * 3
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def settle(outcome: Outcome, receiver: ReceiverControl, healthy_only: bool) -> None:
    """Collect receipts until every (healthy) webhook published has arrived, or the timeout."""
    wanted = outcome.ids(healthy=True) | (set() if healthy_only else outcome.ids(healthy=False))
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while not wanted <= outcome.receipts.keys() and time.monotonic() < deadline:
        time.sleep(0.25)
        for receipt in receiver.drain():
            if receipt.tag == outcome.name:
                outcome.receipts.setdefault(receipt.webhook_id, receipt)


def run(
    outcome: Outcome,
    receiver: ReceiverControl,
    send: Send,
    slow_delay: float,
    monitor: DepthMonitor,
    workers: AbstractContextManager[object] | None = None,
    skip_slow: bool = False,
    duration_s: float = DURATION_S,
) -> Outcome:
    """Publish for ``duration_s``, wait for every healthy webhook; then drain the slow partner's backlog.
    Repeated runs of one scenario add up in ``outcome``."""
    receiver.set_delay(SLOW, slow_delay)
    started, cpu, moto_cpu = time.monotonic(), cpu_seconds(), cpu_seconds(MOTO)
    with workers or nullcontext(), monitor:
        published = publish_steadily(send, outcome.name, PARTNERS, RATE, duration_s, skip_slow)
        outcome.published += published
        settle(outcome, receiver, healthy_only=True)
        outcome.wall_s += time.monotonic() - started
        slow_ids = outcome.ids(healthy=False) & {p.webhook_id for p in published}
        outcome.slow_on_time += len(slow_ids & outcome.receipts.keys())
        used = {"this process": cpu_seconds() - cpu, "moto": cpu_seconds(MOTO) - moto_cpu}
        outcome.cpu_s = {k: outcome.cpu_s.get(k, 0.0) + v for k, v in used.items()}
        outcome.depths = {k: max(outcome.depths.get(k, 0), v) for k, v in monitor.maxima.items()}
        receiver.set_delay(SLOW, 0.0)  # the slow partner's backlog goes before the next scenario
        settle(outcome, receiver, healthy_only=False)
    return outcome


def per_partner(
    stack: LocalStack,
    receiver: ReceiverControl,
    outcome: Outcome,
    delay: float,
    skip_slow: bool = False,
    duration_s: float = DURATION_S,
) -> Outcome:
    sqs = stack.client("sqs")
    urls = {p: sqs.get_queue_url(QueueName=naming.partner_queue(STAGE, p))["QueueUrl"] for p in PARTNERS}
    monitor = DepthMonitor(sqs, {"slow queue": [urls[SLOW]], "healthy queues": list(urls.values())[1:]})
    return run(outcome, receiver, via_queue(sqs, urls), delay, monitor, None, skip_slow, duration_s)


def shared_queue(stack: LocalStack, receiver: ReceiverControl) -> Outcome:
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=f"{naming.prefix(STAGE)}-shared-baseline")["QueueUrl"]
    assert stack.runtime is not None
    settings = [
        HandlerSettings.from_environment(f.environment)
        for f in stack.runtime.active_functions().values()
        if f.handler == DELIVER_HANDLER  # not the results recorder, nor the sample receiver's inbox
    ]
    pool = SharedQueuePool(
        url,
        {s.partner_id: s for s in settings},
        sqs,
        stack.client("secretsmanager"),
        workers=RESERVED_CONCURRENCY * len(PARTNERS),
        post_concurrency=POST_CONCURRENCY,
    )
    monitor = DepthMonitor(sqs, {"shared queue": [url]})
    outcome = Outcome("c", "baseline: one shared queue + worker pool")
    return run(outcome, receiver, via_queue(sqs, dict.fromkeys(PARTNERS, url)), SLOW_DELAY_S, monitor, pool)


def report(outcomes: list[Outcome]) -> None:
    print(
        f"{len(PARTNERS)} partners; '{SLOW}' takes {SLOW_DELAY_S:g} s a request and gets half of all"
        f" traffic; {RATE:g} webhooks/s for {DURATION_S:g} s per scenario; per partner"
        f" {RESERVED_CONCURRENCY} instances x {POST_CONCURRENCY} POST; shared pool"
        f" {RESERVED_CONCURRENCY * len(PARTNERS)} workers x {POST_CONCURRENCY} POST.\n"
        "Processes: receivers; moto; the stack (API, Lambda runtime) with the publisher and the shared pool."
    )
    print(f"\n{'healthy partners: publish-to-receipt':50} {'p50':>8} {'p95':>8} {'p99':>8}  delivered")
    p99 = {}
    for o in outcomes:
        p50, p95, p99[o.name] = percentiles(o.healthy_latencies())
        print(
            f"({o.name}) {o.label:46} {p50 * 1000:6.0f}ms {p95 * 1000:6.0f}ms {p99[o.name] * 1000:6.0f}ms"
            f"  {o.delivered()}"
        )
    print(f"\nratio p99 (b)/(a)  {p99['b'] / p99['a']:6.2f}   target <= 1.5")
    fast_slow = p99["a'"]
    print(f"ratio p99 (b)/(a') {p99['b'] / fast_slow:6.2f}")
    print(f"ratio p99 (c)/(a)  {p99['c'] / p99['a']:6.2f}   head-of-line blocking without isolation")
    print(f"ratio p99 (c)/(b)  {p99['c'] / p99['b']:6.2f}")
    delivery = {o.name: percentiles(o.healthy_split()[1])[2] for o in outcomes}
    print(f"ratio p99 (b)/(a), enqueued-to-receipt (delivery path) {delivery['b'] / delivery['a']:6.2f}")
    print("\nper scenario (publish calls until the last healthy webhook arrived):")
    for o in outcomes:
        calls, after = (percentiles(v) for v in o.healthy_split())
        cpu = ", ".join(f"{k} {v / o.wall_s:.0%}" for k, v in o.cpu_s.items())
        depth = ", ".join(f"{k} {v}" for k, v in o.depths.items())
        print(
            f"({o.name}) healthy: publish call p50/p99 {calls[0] * 1000:.0f}/{calls[2] * 1000:.0f}ms,"
            f" enqueued-to-receipt p50/p99 {after[0] * 1000:.0f}/{after[2] * 1000:.0f}ms;"
            f" slow: {o.slow_on_time}/{len(o.ids(healthy=False))} delivered by then; max depth: {depth};"
            f" CPU of a core: {cpu} over {o.wall_s:.0f} s"
        )


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    quiet_logging()
    options = StackOptions(api_port=0, receiver_port=0, stage=STAGE)
    started = time.monotonic()
    with latency_receiver() as receiver, moto_process() as aws, stack_on(aws, options) as stack:
        create_partners(stack, receiver, PARTNERS, RESERVED_CONCURRENCY, POST_CONCURRENCY)
        print(f"stack up, {len(PARTNERS)} partners created in {time.monotonic() - started:.0f} s", flush=True)
        # connections, cached secrets, first calls: paid before measuring
        per_partner(stack, receiver, Outcome("warm-up", ""), 0.0, duration_s=WARM_UP_S)
        a = Outcome("a", "control: no slow partner")
        a_fast = Outcome("a'", "control: slow partner answers at once")
        b = Outcome("b", "hookrelay: queue + Lambda per partner")
        scenarios: list[Callable[[], Outcome]] = [
            lambda: per_partner(stack, receiver, a, 0.0, skip_slow=True),
            lambda: per_partner(stack, receiver, a_fast, 0.0),
            lambda: per_partner(stack, receiver, b, SLOW_DELAY_S),
        ] * ROUNDS + [lambda: shared_queue(stack, receiver)]
        outcomes: list[Outcome] = []
        for scenario in scenarios:
            outcome = scenario()
            if outcome not in outcomes:
                outcomes.append(outcome)
            print(f"scenario ({outcome.name}) done at {time.monotonic() - started:.0f} s", flush=True)
        print(f"load average (1 min) on {os.cpu_count()} cores: {os.getloadavg()[0]:.1f}\n")
        report(outcomes)
    print(f"\ntotal {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
