"""The fault suite's ledger counts a webhook that moves while it reads (queue to DLQ, queue to partner)."""

from __future__ import annotations

import json

from tests.support.ledger import Count, Ledger, Parked

QUEUE = "http://aws/123456789012/p-queue"
DLQ = "http://aws/123456789012/p-dlq"
BODY = json.dumps({"id": "msg_1", "partner_id": "p"})


def moving_ledger(move: str) -> Ledger:
    """A ledger over a queue holding msg_1 that leaves it right after the ledger's first read of any queue:
    to the DLQ (``move="dlq"``) or acknowledged by the partner (``move="ack"``)."""
    queues: dict[str, list[Parked]] = {QUEUE: [Parked("p-queue", BODY, {}, True)], DLQ: []}
    ledger: Ledger

    def peeker(url: str) -> list[Parked]:
        seen = list(queues[url])
        if queues[QUEUE]:
            queues[QUEUE] = []
            if move == "dlq":
                queues[DLQ] = [Parked("p-dlq", BODY, {"HookrelayDeadLetterReason": "gone"}, False)]
            else:
                ledger.acknowledged["msg_1"] += 1
        return seen

    ledger = Ledger([QUEUE], [DLQ], peeker=peeker)
    ledger.add(["msg_1"])
    return ledger


def test_a_webhook_dead_lettered_while_the_ledger_reads_is_never_counted_lost() -> None:
    # GIVEN a webhook that moves from its queue to the DLQ as the ledger starts reading
    ledger = moving_ledger("dlq")
    # WHEN the ledger counts
    count = ledger.count()
    # THEN it is seen after the move (on the DLQ), not lost
    assert count == Count(dead_lettered=1)


def test_a_webhook_acknowledged_while_the_ledger_reads_is_never_counted_lost() -> None:
    # GIVEN a webhook that the partner acknowledges (and SQS deletes) as the ledger starts reading
    ledger = moving_ledger("ack")
    # WHEN the ledger counts
    count = ledger.count()
    # THEN it is delivered, not lost
    assert count == Count(delivered=1)
