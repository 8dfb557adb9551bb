"""Faults around a partner's queues on the local stack: poison messages among good ones, and sqs-mv killed
(SIGKILL) while it redrives a dead-letter queue. Every case ends in an exact count."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hookrelay.models import WebhookMessage
from hookrelay_local.partner_server import PartnerServer, Reply, always
from hookrelay_local.stack import LocalStack
from tests.support.lambda_runtime import wait_for
from tests.support.ledger import Count, peek
from tests.support.stack_api import create_partner

pytestmark = pytest.mark.e2e
SQS_MV = Path(sys.executable).with_name("sqs-mv")
REDRIVEN = 60


@pytest.fixture(autouse=True)
def _no_real_aws() -> None:
    """Overrides the suite-wide fixture (see conftest)."""


def test_poison_messages_are_dead_lettered_with_a_reason_and_their_neighbours_delivered(
    stack: LocalStack,
) -> None:
    # GIVEN a healthy partner whose queue holds three poison messages among four published events
    with PartnerServer() as server:
        partner = create_partner(stack, "q-poison", server.url)
        server.behaviour = partner.ledger.partner(always(Reply()))
        other = WebhookMessage(partner_id="someone-else", topic="transfer.created", payload={})
        partner.send_raw(["not json", '{"version": 1}', other.to_sqs_body()])
        # WHEN four good events are published alongside
        partner.publish(4)
        # THEN the four are delivered and the three dead-lettered, each with why
        assert partner.ledger.settle(Count(delivered=4, dead_lettered=3)) == Count(
            delivered=4, dead_lettered=3
        )
        reasons = sorted(partner.ledger.reasons())
        assert len(reasons) == 3
        assert reasons[0].startswith("invalid message: body: Invalid JSON")
        assert reasons[1] == "invalid message: partner_id 'someone-else' on q-poison's queue"
        assert reasons[2].startswith("invalid message: partner_id: Field required")


def sqs_mv(stack: LocalStack, dead_letter_queue_url: str) -> list[str]:
    return [
        str(SQS_MV),
        dead_letter_queue_url,
        "--to-origin",
        "--reset-attempts",
        "--concurrency",
        "1",
        "--visibility-timeout",
        "2",
        "--no-progress",
        "--endpoint-url",
        stack.endpoint,
        "--region",
        stack.options.region,
    ]


def test_sqs_mv_killed_mid_redrive_loses_nothing_and_a_second_run_finishes(stack: LocalStack) -> None:
    # GIVEN 60 webhooks dead-lettered because the partner answered 410, and the partner now healthy
    with PartnerServer() as server:
        partner = create_partner(stack, "q-redrive", server.url, gone_pauses=False)  # not paused at the 410
        server.behaviour = partner.ledger.partner(always(Reply(status=410)))
        partner.publish(REDRIVEN)
        partner.ledger.settle(Count(dead_lettered=REDRIVEN))
        server.behaviour = partner.ledger.partner(always(Reply()))
        # WHEN an operator redrives the DLQ with sqs-mv --to-origin, and it is SIGKILLed mid-move
        move = subprocess.Popen(sqs_mv(stack, partner.dead_letter_queue_url), stdout=subprocess.DEVNULL)
        try:
            wait_for(lambda: len(peek(partner.dead_letter_queue_url)) < REDRIVEN, timeout=30, interval=0.005)
            move.send_signal(signal.SIGKILL)
        finally:
            move.wait(timeout=10)
        # THEN once what it held is visible again, each webhook is delivered or still dead-lettered: none lost
        after_kill = partner.ledger.quiet()
        assert (after_kill.lost, after_kill.queued) == (0, 0)
        assert after_kill.delivered + after_kill.dead_lettered == REDRIVEN
        assert after_kill.dead_lettered > 0  # killed mid-move, not after
        # AND a second run moves the rest: all of them delivered, nothing left anywhere
        finished = subprocess.run(
            sqs_mv(stack, partner.dead_letter_queue_url), capture_output=True, timeout=60
        )
        assert finished.returncode == 0, finished.stderr
        assert partner.ledger.settle(Count(delivered=REDRIVEN)) == Count(delivered=REDRIVEN)
        assert peek(partner.dead_letter_queue_url) == []
