"""Process faults: the Lambda runtime killed mid-batch, a handler crash on one record, the results queue
unavailable (the handler no longer uses it). Partners built on moto's server as the provisioner would
(tests/support/lambda_runtime.py), short visibility timeouts so a failed batch comes back in seconds.
Every case ends in an exact count."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from hookrelay.delivery import phased as dispatch
from hookrelay.delivery.report import ATTEMPT_LOGGER
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
    """An SQS client whose sends to one queue all fail (and are counted)."""

    def __init__(self, real: Any, queue_url: str) -> None:
        self.real, self.queue_url = real, queue_url
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def _send(self, name: str, kwargs: dict[str, Any]) -> Any:
        if kwargs["QueueUrl"] == self.queue_url:
            self.refused += 1
            raise EndpointConnectionError(endpoint_url=self.queue_url)
        return getattr(self.real, name)(**kwargs)

    def send_message(self, **kwargs: Any) -> Any:
        return self._send("send_message", kwargs)

    def send_message_batch(self, **kwargs: Any) -> Any:
        return self._send("send_message_batch", kwargs)


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_results_queue_unavailable_delivery_goes_on_and_attempt_records_are_its_log_lines(
    local_aws: LocalAws,
    partner_server: PartnerServer,
    start_runtime: Callable[..., LocalLambdaRuntime],
) -> None:
    # GIVEN a partner whose function still names a results queue (as before issue 15), which is down
    results_url = local_aws.sqs.create_queue(QueueName="results")["QueueUrl"]
    partner = create_partner(local_aws, "noresults", partner_server.url, results_queue_url=results_url)
    ledger = ledger_of(partner)
    partner_server.behaviour = ledger.partner(always(Reply()))
    sqs = ResultsQueueOutage(local_client("sqs", local_aws.endpoint_url, local_aws.region), results_url)
    invoker = DeliverInvoker(sqs, local_client("secretsmanager", local_aws.endpoint_url, local_aws.region))
    captured = Captured()
    lines_logger = logging.getLogger(ATTEMPT_LOGGER)
    lines_logger.addHandler(captured)
    try:
        # WHEN ten webhooks are delivered
        ledger.add(publish(local_aws, partner, 10))
        start_runtime(invokers={"app.deliver": invoker})
        # THEN all ten are delivered, and each attempt record is its marked log line
        assert ledger.settle(Count(delivered=10)) == Count(delivered=10)
        wait_for(lambda: len(captured.records) == 10)
        logged = sorted(r.webhook_id for r in captured.records)  # type: ignore[attr-defined]
        assert logged == sorted(ledger.published)
        assert {r.record for r in captured.records} == {"attempt"}  # type: ignore[attr-defined]
        # AND the handler never tried the results queue
        assert (sqs.refused, peek(results_url)) == (0, [])
    finally:
        lines_logger.removeHandler(captured)
