"""`make demo`: three partners on the local stack, a few hundred events, a summary table.

- healthy answers at once, slow takes 2 s per request, failing answers 500;
- every partner gets the same share of events; the healthy partner's latency stays low while the slow
  partner's queue backs up (its own queue, its own Lambda);
- the failing partner's webhooks retry on a short demo schedule and land in its dead-letter queue;
- the partner is "fixed", sqs-mv moves its DLQ back (delivery state reset), everything is delivered;
- a partner "loses" a stretch of webhooks (answers 200, processes none) and a replay brings them back
  (hookrelay_local.demo_replay);
- health (hookrelay_local.demo_health): a fourth partner goes dark, is paused, is told, comes back, is
  resumed, and loses nothing;
- fan-out (hookrelay_local.demo_events): events published once, routed by topic to three partners;
- the last line counts events published, delivered, duplicates and lost (must be 0).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter

import requests

from hookrelay import naming
from hookrelay.aws.sqs import lookup_queue_url
from hookrelay_local.demo_events import fanout_scene
from hookrelay_local.demo_health import HEALTH_EVENTS, run_health_scene
from hookrelay_local.demo_parts import Partner, wait
from hookrelay_local.demo_replay import replay_scene
from hookrelay_local.partner_server import Reply
from hookrelay_local.stack import LocalStack, StackOptions

DEMO_RETRIES = [1, 2, 4]  # seconds after the first attempt (production default: 15 min ... 72 h)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
    )


def run(events: int, health_events: int = HEALTH_EVENTS) -> int:
    from rich.console import Console
    from rich.table import Table

    from hookrelay.mover.engine import move_messages
    from hookrelay.mover.request import MoveRequest

    console = Console()
    options = StackOptions(aws_port=0, api_port=0, receiver_port=0, stage="demo")
    partners = [
        Partner("healthy", Reply(status=200)),
        Partner("slow", Reply(status=200, delay=2.0)),
        Partner("failing", Reply(status=500)),
    ]
    console.print(f"[bold]starting the local stack[/] (stage {options.stage}) ...")
    with LocalStack(options) as stack:
        api = stack.api_url
        fanned = fanout_scene(api, 6, console.print)  # first: POST /events reaches every partner there is
        for partner in partners:
            body = {
                "partner_id": partner.name,
                "url": partner.server.url,
                "max_concurrency": 2,
                "post_concurrency": 5,
                "retry_policy": {"schedule_seconds": DEMO_RETRIES, "jitter": 0},
            }
            answer = requests.post(f"{api}/partners", json=body, timeout=60)
            answer.raise_for_status()
        console.print(f"created 3 partners; publishing {events} events round-robin ...")
        session = requests.Session()
        for i in range(events):
            partner = partners[i % len(partners)]
            sent = time.time()
            answer = session.post(
                f"{api}/partners/{partner.name}/events",
                json={"topic": "transfer.created", "payload": {"n": i}},
                timeout=30,
            )
            answer.raise_for_status()
            partner.published[answer.json()["webhook_id"]] = sent
        healthy, slow, failing = partners
        wait(lambda: healthy.delivered() == len(healthy.published), 120, "the healthy partner")
        console.print(
            f"healthy partner: all {healthy.delivered()} delivered, "
            f"p50 {percentile(healthy.latencies, 50):.2f} s, p95 {percentile(healthy.latencies, 95):.2f} s"
            f" (slow partner so far: {slow.delivered()} of {len(slow.published)})"
        )
        sqs = stack.client("sqs")
        dlq = lookup_queue_url(naming.partner_dead_letter_queue(options.stage, "failing"), sqs)

        def dead_letters() -> int:
            attributes = sqs.get_queue_attributes(
                QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
            )
            return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

        wait(lambda: dead_letters() == len(failing.published), 120, "the failing partner's dead letters")
        parked = dead_letters()
        console.print(
            f"failing partner: {parked} webhooks dead-lettered after {1 + len(DEMO_RETRIES)} attempts each"
        )
        failing.reply = Reply(status=200)
        report = move_messages(
            MoveRequest(source=dlq, to_origin=True, reset_attempts=True, wait_seconds=1), sqs=sqs
        )
        console.print(f"partner fixed; sqs-mv moved {report.moved} back to its queue")
        wait(lambda: failing.delivered() == len(failing.published), 120, "the redriven webhooks")
        wait(lambda: slow.delivered() == len(slow.published), 300, "the slow partner")
        replayed = replay_scene(api, max(3, events // 10), console.print)
        partners.append(run_health_scene(stack, console.print, health_events))

    table = Table(title="hookrelay demo")
    for column in (
        "partner",
        "published",
        "delivered",
        "duplicates",
        "dead-lettered, then redriven",
        "p50 s",
        "p95 s",
        "lost",
    ):
        table.add_column(column, justify="left" if column == "partner" else "right")
    totals = Counter[str]()
    for partner in partners:
        lost = len(partner.published) - partner.delivered()
        row = {
            "published": len(partner.published),
            "delivered": partner.delivered(),
            "duplicates": partner.duplicates(),
            "lost": lost,
        }
        totals.update(row)
        table.add_row(
            partner.name,
            *(str(row[k]) for k in ("published", "delivered", "duplicates")),
            str(parked if partner is failing else 0),
            f"{percentile(partner.latencies, 50):.2f}",
            f"{percentile(partner.latencies, 95):.2f}",
            str(lost),
        )
        partner.server.stop()
    console.print(table)
    console.print(replayed.summary(), soft_wrap=True)
    console.print(fanned.summary(), soft_wrap=True)
    console.print(
        f"events published: {totals['published']}, delivered: {totals['delivered']}, "
        f"duplicates: {totals['duplicates']}, lost: {totals['lost']}"
    )
    fanned_ok = fanned.lost == fanned.misrouted == 0 and fanned.duplicate_answered
    return 0 if totals["lost"] == 0 and replayed.still_lost == 0 and fanned_ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="events to publish, spread over 3 partners")
    parser.add_argument("--health-events", type=int, default=HEALTH_EVENTS, help="events to the dark partner")
    args = parser.parse_args(argv)
    from hookrelay_local.console import Board
    from hookrelay_local.run import LOG_FILE, configure_logs

    configure_logs(Board(), to_stdout=False)
    print(f"logs: {LOG_FILE}")
    return run(args.events, args.health_events)


if __name__ == "__main__":
    sys.exit(main())
