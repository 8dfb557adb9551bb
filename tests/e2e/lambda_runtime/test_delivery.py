"""The local Lambda runtime running hookrelay's real handler against a moto server and real partners."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from hookrelay.models import WebhookMessage
from hookrelay.signing.standard import verify
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime
from hookrelay_local.lambda_runtime.stats import BatchOutcome
from hookrelay_local.partner_server import Received, Reply
from tests.support.lambda_runtime import (
    LocalAws,
    Reports,
    create_partner,
    publish,
    queue_counts,
    send_bodies,
    wait_for,
    webhook_ids,
)

pytestmark = pytest.mark.e2e


def test_delivers_every_message_signed_and_deletes_it(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], partner_server: Any
) -> None:
    # GIVEN a partner function whose queue holds 12 webhooks
    server = partner_server()
    partner = create_partner(local_aws, "acme", server.url)
    published = publish(local_aws, partner, 12)

    # WHEN the runtime runs
    runtime = start_runtime()
    wait_for(lambda: runtime.totals().deleted == 12)

    # THEN each webhook reached the partner once, signed with the partner's secret, and the queue is empty
    assert sorted(webhook_ids(server)) == sorted(published)
    for request in server.requests_snapshot():
        assert (
            verify(partner.secret, request.headers, request.body).webhook_id == request.headers["webhook-id"]
        )
    counters = runtime.counters()["acme-handler"]
    assert (counters.records, counters.deleted, counters.failed, counters.in_flight) == (12, 12, 0, 0)
    assert queue_counts(local_aws, partner.queue_url) == (0, 0)


def test_batches_are_at_most_the_mappings_batch_size(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], partner_server: Any
) -> None:
    # GIVEN 7 queued webhooks and a mapping with batch size 3
    partner = create_partner(local_aws, "acme", partner_server().url, batch_size=3)
    publish(local_aws, partner, 7)
    reports = Reports()

    # WHEN the runtime delivers them
    runtime = start_runtime(on_invocation=reports)
    wait_for(lambda: runtime.totals().deleted == 7)

    # THEN the function saw batches of 3, 3 and 1
    assert sorted(len(r.message_ids) for r in reports.snapshot()) == [1, 3, 3]


def test_real_handler_partial_failure_keeps_only_the_failed_record(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], partner_server: Any
) -> None:
    # GIVEN a partner whose dead-letter queue cannot be written, and a batch of two good webhooks and
    # one invalid body (which the handler must dead-letter, and so cannot complete)
    server = partner_server()
    missing_dlq = f"{local_aws.endpoint_url}/123456789012/does-not-exist"
    partner = create_partner(
        local_aws, "acme", server.url, visibility_timeout=30, dead_letter_queue_url=missing_dlq
    )
    good = [WebhookMessage(partner_id="acme", topic="t", payload={"n": n}) for n in range(2)]
    ids = send_bodies(local_aws, partner.queue_url, [m.to_sqs_body() for m in good] + ["not json"])
    reports = Reports()

    # WHEN the runtime runs the batch
    start_runtime(on_invocation=reports)
    report = wait_for(lambda: reports.snapshot())[0]

    # THEN the good ones were delivered and deleted, and only the invalid one stays (in flight)
    assert report.outcome is BatchOutcome.PARTIAL
    assert (sorted(report.deleted), report.kept) == (sorted(ids[:2]), (ids[2],))
    assert sorted(webhook_ids(server)) == sorted(m.id for m in good)
    assert queue_counts(local_aws, partner.queue_url) == (0, 1)


@pytest.mark.parametrize(
    ("maximum_concurrency", "reserved_concurrency", "expected_peak"),
    [(2, None, 2), (3, 1, 1)],
    ids=["maximum-concurrency", "reserved-concurrency-wins"],
)
def test_batches_in_flight_never_exceed_the_partners_concurrency(
    local_aws: LocalAws,
    start_runtime: Callable[..., LocalLambdaRuntime],
    partner_server: Any,
    maximum_concurrency: int,
    reserved_concurrency: int | None,
    expected_peak: int,
) -> None:
    # GIVEN a slow partner that measures how many requests it serves at once, and batches of one
    lock = threading.Lock()
    active, peak = [0], [0]

    def slow(_request: Received) -> Reply:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        threading.Event().wait(0.3)
        with lock:
            active[0] -= 1
        return Reply()

    partner = create_partner(
        local_aws,
        "slow",
        partner_server(slow).url,
        batch_size=1,
        maximum_concurrency=maximum_concurrency,
        reserved_concurrency=reserved_concurrency,
    )
    publish(local_aws, partner, 6)

    # WHEN the runtime delivers them
    runtime = start_runtime()
    wait_for(lambda: runtime.totals().deleted == 6)

    # THEN the lower of maximum and reserved concurrency bounded the simultaneous requests (the bound is
    # the claim: how close a loaded machine's scheduling gets to it is not)
    assert 1 <= peak[0] <= expected_peak


def test_disabled_mapping_stops_delivery_and_keeps_the_messages(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], partner_server: Any
) -> None:
    # GIVEN a running runtime that delivered a partner's first webhooks
    server = partner_server()
    partner = create_partner(local_aws, "acme", server.url)
    first = publish(local_aws, partner, 2)
    runtime = start_runtime()
    wait_for(lambda: runtime.totals().deleted == 2)

    # WHEN the mapping is disabled and more webhooks arrive
    local_aws.lambda_.update_event_source_mapping(UUID=partner.mapping_uuid, Enabled=False)
    wait_for(lambda: not runtime.polling())
    later = publish(local_aws, partner, 3)
    runtime.discover()

    # THEN they wait on the queue, untouched
    assert queue_counts(local_aws, partner.queue_url) == (3, 0)
    assert sorted(webhook_ids(server)) == sorted(first)

    # AND once re-enabled, they are delivered
    local_aws.lambda_.update_event_source_mapping(UUID=partner.mapping_uuid, Enabled=True)
    wait_for(lambda: runtime.totals().deleted == 5)
    assert sorted(webhook_ids(server)) == sorted(first + later)


def test_function_configuration_change_applies_to_the_next_batch(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], partner_server: Any
) -> None:
    # GIVEN a partner delivering to its old URL
    old, new = partner_server(), partner_server()
    partner = create_partner(local_aws, "acme", old.url)
    runtime = start_runtime()
    first = publish(local_aws, partner, 1)
    wait_for(lambda: runtime.totals().deleted == 1)

    # WHEN the provisioner updates the function's environment with a new URL
    config = local_aws.lambda_.get_function_configuration(FunctionName=partner.function_name)
    env = {**config["Environment"]["Variables"], "HOOKRELAY_PARTNER_URL": new.url}
    local_aws.lambda_.update_function_configuration(
        FunctionName=partner.function_name, Environment={"Variables": env}
    )
    wait_for(
        lambda: runtime.active_functions()["acme-handler"].environment["HOOKRELAY_PARTNER_URL"] == new.url
    )
    second = publish(local_aws, partner, 1)
    wait_for(lambda: runtime.totals().deleted == 2)

    # THEN the next webhook goes to the new URL
    assert (webhook_ids(old), webhook_ids(new)) == (first, second)
