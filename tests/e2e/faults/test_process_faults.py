"""Process faults: the Lambda runtime killed mid-batch, a handler crash on one record, the results queue
unavailable. Partners built on moto's server as the provisioner would (tests/support/lambda_runtime.py),
short visibility timeouts so a failed batch comes back in seconds. Every case ends in an exact count."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from hookrelay.delivery import phased as dispatch
from hookrelay_local.lambda_runtime.invokers import DeliverInvoker
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime, local_client
from hookrelay_local.partner_server import PartnerServer, Reply, always
from tests.e2e.lambda_runtime.conftest import local_aws, moto_endpoint, start_runtime
from tests.support.lambda_runtime import LocalAws, Partner, create_partner, publish, spawn_runtime, wait_for
from tests.support.ledger import Count, Ledger, peek

__all__ = ["local_aws", "moto_endpoint", "start_runtime"]  # the runtime suite's moto fixtures, shared
pytestmark = pytest.mark.e2e


def ledger_of(partner: Partner, read_timeout: float = 5.0) -> Ledger:
    return Ledger([partner.queue_url], [partner.dlq_url], read_timeout=read_timeout)


@pytest.fixture
def partner_server() -> Iterator[PartnerServer]:
    with PartnerServer() as server:
        yield server


def test_runtime_killed_mid_batch_and_restarted_loses_nothing(
    local_aws: LocalAws, partner_server: PartnerServer, tmp_path: Path
) -> None:
    # GIVEN 20 queued webhooks for a slow partner (0.2 s a request), and the runtime's CLI delivering them
    partner = create_partner(local_aws, "killed", partner_server.url, visibility_timeout=2)
    ledger = ledger_of(partner)
    partner_server.behaviour = ledger.partner(always(Reply(delay=0.2)))
    ledger.add(publish(local_aws, partner, 20))
    log = tmp_path / "runtime.log"
    first = spawn_runtime(local_aws.endpoint_url, log)
    # WHEN it is killed (SIGKILL) mid-batch
    wait_for(lambda: partner_server.count >= 1, timeout=30)
    first.kill()
    first.wait()
    # THEN at that moment every webhook is delivered or still on the queue (some in flight): none lost
    at_kill = ledger.count()
    assert (at_kill.lost, at_kill.dead_lettered, at_kill.delivered + at_kill.queued) == (0, 0, 20)
    assert at_kill.queued > 0
    # AND once a new runtime runs, all 20 are delivered and nothing is left queued
    second = spawn_runtime(local_aws.endpoint_url, log)
    try:
        assert ledger.settle(Count(delivered=20), timeout=40) == Count(delivered=20)
    finally:
        second.kill()
        second.wait()


def test_a_handler_crash_on_one_record_fails_that_record_alone_and_it_is_delivered_later(
    local_aws: LocalAws,
    partner_server: PartnerServer,
    start_runtime: Callable[..., LocalLambdaRuntime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN ten queued webhooks, and a handler that crashes (once) on the fourth
    partner = create_partner(local_aws, "crashy", partner_server.url, visibility_timeout=2)
    ledger = ledger_of(partner)
    partner_server.behaviour = ledger.partner(always(Reply()))
    ids = ledger.add(publish(local_aws, partner, 10))
    crashed: list[str] = []
    real_attempt = dispatch.prepare_request

    def crash_once(message: Any, *args: Any) -> Any:
        if message.id == ids[3] and not crashed:
            crashed.append(message.id)
            raise RuntimeError("handler bug")
        return real_attempt(message, *args)

    monkeypatch.setattr(dispatch, "prepare_request", crash_once)
    # WHEN the runtime delivers them
    start_runtime()
    # THEN all ten are delivered: the nine at once, the crashed one when SQS shows it again
    assert ledger.settle(Count(delivered=10)) == Count(delivered=10)
    assert crashed == [ids[3]]
    assert [ledger.attempts[i] for i in ids] == [1] * 10


class ResultsQueueOutage:
    """An SQS client whose ``send_message_batch`` to one queue fails while ``down`` is set."""

    def __init__(self, real: Any, queue_url: str) -> None:
        self.real, self.queue_url = real, queue_url
        self.down = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def send_message_batch(self, **kwargs: Any) -> Any:
        if self.down.is_set() and kwargs["QueueUrl"] == self.queue_url:
            raise EndpointConnectionError(endpoint_url=self.queue_url)
        return self.real.send_message_batch(**kwargs)


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_results_queue_unavailable_delivery_goes_on_and_attempt_records_are_logged(
    local_aws: LocalAws,
    partner_server: PartnerServer,
    start_runtime: Callable[..., LocalLambdaRuntime],
) -> None:
    # GIVEN a partner whose handler publishes attempt records to a results queue that is down
    results_url = local_aws.sqs.create_queue(QueueName="results")["QueueUrl"]
    partner = create_partner(local_aws, "noresults", partner_server.url, results_queue_url=results_url)
    ledger = ledger_of(partner)
    partner_server.behaviour = ledger.partner(always(Reply()))
    sqs = ResultsQueueOutage(local_client("sqs", local_aws.endpoint_url, local_aws.region), results_url)
    sqs.down.set()
    invoker = DeliverInvoker(sqs, local_client("secretsmanager", local_aws.endpoint_url, local_aws.region))
    captured = Captured()
    results_logger = logging.getLogger("hookrelay.attempts.publisher")
    results_logger.addHandler(captured)
    try:
        # WHEN ten webhooks are delivered during the outage
        ledger.add(publish(local_aws, partner, 10))
        start_runtime(invokers={"app.deliver": invoker})
        # THEN all ten are delivered, and each attempt record is logged in full instead
        assert ledger.settle(Count(delivered=10)) == Count(delivered=10)
        wait_for(lambda: len(captured.records) == 10)
        logged = sorted(r.attempt_record["webhook_id"] for r in captured.records)  # type: ignore[attr-defined]
        assert logged == sorted(ledger.published)
        assert peek(results_url) == []
        # AND when the results queue is back, five more are delivered and recorded there
        sqs.down.clear()
        ledger.add(publish(local_aws, partner, 5))
        assert ledger.settle(Count(delivered=15)) == Count(delivered=15)
        wait_for(lambda: len(peek(results_url)) == 5)
        assert len(captured.records) == 10
    finally:
        results_logger.removeHandler(captured)
