"""Ordered delivery end to end: FIFO partner queues, the real handler in the local Lambda runtime, a real
HTTP sink on loopback (issue 17's figures)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from hookrelay.delivery import ordered_batch
from hookrelay.models import WebhookMessage
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime
from tests.support.lambda_runtime import LocalAws, queue_counts, wait_for
from tests.support.ordered import (
    FlakySink,
    create_fifo_partner,
    order_report,
    publish_ordered,
    strictly_increasing,
)

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(500)
def test_a_thousand_webhooks_over_ten_keys_arrive_in_order_through_random_failures(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], partner_server: Any
) -> None:
    # GIVEN an ordered partner whose endpoint fails 20 % of requests at random (retries a second apart)
    sink = FlakySink(failure_rate=0.2)
    partner = create_fifo_partner(local_aws, "ordered", partner_server(sink).url, visibility_timeout=30)
    # WHEN 1,000 webhooks are published round-robin over 10 ordering keys while the runtime runs
    # (at most 100 waiting: moto slows down with queue depth)
    started = time.monotonic()
    start_runtime()
    published = publish_ordered(local_aws, partner, 1000, keys=10, delivered=sink.delivered)
    wait_for(lambda: sink.delivered() == 1000, timeout=450, interval=0.5)
    elapsed = time.monotonic() - started

    # THEN every webhook arrived, and per key the sink accepted sequence numbers 0..99 in order
    per_key, redeliveries, jumps = order_report(sink.snapshot())
    assert sorted(per_key) == sorted(published)
    for key, seqs in per_key.items():
        assert seqs == list(range(100)), (key, seqs)
        assert strictly_increasing(seqs)
    # AND no webhook arrived before every earlier one of its key had (repeats are redeliveries only)
    assert jumps == 0
    # AND the sink did refuse requests (the retries happened), nothing was dead-lettered, the queue drained
    assert sink.refused > 100
    wait_for(lambda: queue_counts(local_aws, partner.queue_url) == (0, 0))
    assert queue_counts(local_aws, partner.dlq_url) == (0, 0)
    print(
        f"\nordered: 1000 webhooks in {elapsed:.0f} s, {sink.refused} refusals, {redeliveries} redeliveries"
    )


@pytest.mark.timeout(300)
def test_handler_crashes_mid_batch_do_not_break_the_order(
    local_aws: LocalAws,
    start_runtime: Callable[..., LocalLambdaRuntime],
    partner_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN an ordered partner whose handler crashes on the first try of every seventh webhook, after
    # earlier records of its batch were delivered (a crash mid-batch, on the record, not the batch)
    sink = FlakySink(failure_rate=0.0)
    partner = create_fifo_partner(local_aws, "crashy", partner_server(sink).url, visibility_timeout=1)
    published = publish_ordered(local_aws, partner, 140, keys=4)
    crashed: set[str] = set()
    real = ordered_batch.attempt_delivery

    def crash_once(message: WebhookMessage, *args: Any) -> Any:
        if message.payload["seq"] % 7 == 3 and message.id not in crashed:
            crashed.add(message.id)
            raise RuntimeError("handler crashed mid-batch")
        return real(message, *args)

    monkeypatch.setattr(ordered_batch, "attempt_delivery", crash_once)

    # WHEN the runtime delivers them
    start_runtime()
    wait_for(lambda: sink.delivered() == 140, timeout=240, interval=0.5)

    # THEN the crashes happened, and each key's webhooks still arrived once each, in publish order
    assert len(crashed) == 20
    per_key, redeliveries, jumps = order_report(sink.snapshot())
    assert {key: len(seqs) for key, seqs in per_key.items()} == {key: 35 for key in published}
    assert all(seqs == list(range(35)) for seqs in per_key.values())
    assert (redeliveries, jumps) == (0, 0)  # a record crash holds that record alone: no repeats


@pytest.mark.timeout(300)
def test_invocation_crashes_mid_batch_redeliver_in_order(
    local_aws: LocalAws,
    start_runtime: Callable[..., LocalLambdaRuntime],
    partner_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN an ordered partner whose endpoint fails 20 % of requests, and whose handler invocation
    # crashes (raises out of the function: nothing of the batch is deleted) the first 8 times a group
    # stops, after the records before the stop were delivered
    sink = FlakySink(failure_rate=0.2, seed=5)
    partner = create_fifo_partner(local_aws, "crashy", partner_server(sink).url, visibility_timeout=1)
    crashes: list[int] = []
    real = ordered_batch.release

    def crash_sometimes(*args: Any) -> int:
        if len(crashes) < 8:
            crashes.append(1)
            raise RuntimeError("invocation crashed mid-batch")
        return real(*args)

    monkeypatch.setattr(ordered_batch, "release", crash_sometimes)

    # WHEN 120 webhooks over 4 keys are published and delivered
    start_runtime()
    published = publish_ordered(local_aws, partner, 120, keys=4, delivered=sink.delivered)
    wait_for(lambda: sink.delivered() == 120, timeout=240, interval=0.5)

    # THEN the invocations crashed, each key's webhooks arrived in publish order, and the repeats (the
    # crashed batches' delivered records, delivered again) never jumped ahead of an earlier webhook
    assert len(crashes) == 8
    per_key, redeliveries, jumps = order_report(sink.snapshot())
    assert {key: seqs for key, seqs in per_key.items()} == {key: list(range(30)) for key in published}
    assert jumps == 0
    print(f"\ninvocation crashes: 8, redelivered: {redeliveries}, out of order: 0")
