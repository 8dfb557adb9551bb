"""``python -m hookrelay_local.lambda_runtime``: the local Lambda runtime as a process."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from hookrelay.observability import configure_logging
from hookrelay_local.lambda_runtime.poller import PollerOptions
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime

logger = logging.getLogger("hookrelay_local.lambda_runtime.runtime")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hookrelay_local.lambda_runtime",
        description="Run the SQS-triggered Lambda functions stored in a moto server, until SIGINT/SIGTERM.",
    )
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:5000", help="the embedded AWS endpoint")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--discovery-interval", type=float, default=1.0, help="seconds between API reads")
    parser.add_argument("--default-concurrency", type=int, default=5, help="batches in flight per mapping")
    parser.add_argument(
        "--rereads-per-tick",
        type=int,
        default=2,
        help="functions re-read a tick, in turn (concurrency-only changes)",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    os.environ.setdefault("HOOKRELAY_LOCAL_RUNTIME", "1")
    configure_logging("lambda-runtime", args.log_level)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    runtime = LocalLambdaRuntime(
        args.endpoint_url,
        args.region,
        discovery_interval_s=args.discovery_interval,
        rereads_per_tick=args.rereads_per_tick,
        options=PollerOptions(region=args.region, default_concurrency=args.default_concurrency),
    ).start()
    logger.info("local Lambda runtime started", extra={"endpoint_url": args.endpoint_url})
    while not stop.wait(0.5):
        pass
    finished = runtime.stop()
    totals = runtime.totals()
    logger.info("local Lambda runtime stopped", extra={"finished": finished, **vars(totals)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
