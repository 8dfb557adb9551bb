"""Ordered delivery's price: the same partner delivering webhooks over 10 ordering keys on a FIFO queue,
against unordered on a standard queue, in the same run (issue 17).

Both runs: the local Lambda runtime running the real handler, on moto's server in its own process
(bench.receivers.moto_process, mended as the local stack's is), to a loopback sink that answers 200 at
once (TCP_NODELAY); a batch of 10, up to 10 batches in flight and 10 parallel POSTs per batch; 500
webhooks published in requests of ten with at most 100 waiting (moto's SQS slows with queue depth, and
that would be measured instead). The figure is the ratio of the two wall times to the last arrival, so
the machine's speed cancels out; the ordered run also checks that every key's webhooks arrived in
publish order.
"""

from __future__ import annotations

import logging
import os
import time

import requests

from bench.receivers import moto_process
from hookrelay_local.lambda_runtime.poller import PollerOptions
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime
from hookrelay_local.partner_server import PartnerServer
from tests.support.lambda_runtime import LocalAws, create_partner
from tests.support.ordered import FlakySink, create_fifo_partner, order_report, publish_ordered

WEBHOOKS = 500
KEYS = 10
TARGET_RATIO = 3.0  # ordered may take at most this many times the unordered time


def run(endpoint: str, ordered: bool) -> tuple[float, int]:
    """Seconds from the first publish to the last arrival; keys that arrived out of order."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=5)
    aws = LocalAws(endpoint)
    sink = FlakySink(failure_rate=0.0)
    server = PartnerServer(sink).start()
    if ordered:
        partner = create_fifo_partner(aws, "ordered", server.url, visibility_timeout=30)
    else:
        partner = create_partner(
            aws,
            "plain",
            server.url,
            visibility_timeout=30,
            maximum_concurrency=10,
            handler_settings={"post_concurrency": 10},
        )
    runtime = LocalLambdaRuntime(endpoint, discovery_interval_s=0.2, options=PollerOptions(wait_seconds=1))
    runtime.start()
    try:
        time.sleep(0.5)  # the runtime has found the mapping
        started = time.monotonic()
        publish_ordered(
            aws,
            partner,
            WEBHOOKS,
            KEYS,
            delivered=sink.delivered,
            ordering="fifo" if ordered else "none",
        )
        while sink.delivered() < WEBHOOKS:
            time.sleep(0.02)
        elapsed = time.monotonic() - started
    finally:
        runtime.stop(timeout_s=5)
        server.stop()
    per_key, _, jumps = order_report(sink.snapshot())
    broken = sum(seqs != sorted(seqs) for seqs in per_key.values()) if ordered else 0
    return elapsed, broken + (jumps if ordered else 0)


def main() -> None:
    logging.disable(logging.WARNING)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # the handler's EMF lines are not the bench's
    with moto_process() as endpoint:
        unordered, _ = run(endpoint, ordered=False)
        ordered, broken = run(endpoint, ordered=True)
    ratio = ordered / unordered
    print(f"unordered: {WEBHOOKS} webhooks in {unordered:.1f} s ({WEBHOOKS / unordered:.0f}/s)")
    print(f"ordered, {KEYS} keys: {WEBHOOKS} webhooks in {ordered:.1f} s ({WEBHOOKS / ordered:.0f}/s)")
    print(
        f"ordered takes {ratio:.2f}x the unordered time (target <= {TARGET_RATIO:.1f}x); "
        f"keys out of order: {broken}"
    )


if __name__ == "__main__":
    main()
