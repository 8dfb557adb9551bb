"""Ordered partners on main's fan-out paths (issue 17): the router's plan keeps an ordered partner's key
and names its FIFO queue; a webhook sent again gets a deduplication id SQS will not drop."""

from __future__ import annotations

import hashlib

from hookrelay.partners.ordering import again_dedup_id
from hookrelay.provisioning.events.model import Event
from hookrelay.provisioning.events.queues import sibling_url
from hookrelay.provisioning.events.router import plan

BASE = "http://127.0.0.1:5000/123456789012/hookrelay-dev-events"


def test_a_webhook_sent_again_is_deduplicated_by_its_id_and_the_sending_again() -> None:
    # GIVEN a webhook id and a replay's id, THEN the dedup id joins them, differs from the webhook id
    # AND is the same for the same replay (a step delivered twice is one send)
    assert again_dedup_id("msg_1", "rp_1") == "msg_1/rp_1"
    assert again_dedup_id("msg_1", "rp_1") != again_dedup_id("msg_1", "rp_2")
    # AND a pair too long for SQS's 128 characters becomes its SHA-256 (64 hex characters)
    long_id = "m" * 128
    assert again_dedup_id(long_id, "rp_1") == hashlib.sha256(f"{long_id}/rp_1".encode()).hexdigest()


def test_the_plan_keeps_the_ordering_key_for_ordered_partners_only() -> None:
    # GIVEN an event with an ordering key, one ordered subscriber and one unordered
    events = {0: Event(id="evt_a", topic="t", payload={}, ordering_key="cus_1")}
    orderings = {"ledger": "fifo"}

    def url(pid: str) -> str:
        return sibling_url(BASE, f"hookrelay-dev-{pid}" + (".fifo" if pid in orderings else ""))

    # WHEN the fan-out is planned
    sends = {s.partner_id: s for s in plan(events, {"t": ["acme", "ledger"]}, url, orderings)}
    # THEN the ordered partner's send is FIFO, to its .fifo queue, and its message keeps the key
    assert (sends["ledger"].ordering, sends["ledger"].queue_url.endswith("hookrelay-dev-ledger.fifo")) == (
        "fifo",
        True,
    )
    assert sends["ledger"].messages[0][1].ordering_key == "cus_1"
    # AND the unordered partner's body carries no key (its webhook body is unchanged)
    assert (sends["acme"].ordering, sends["acme"].messages[0][1].ordering_key) == ("none", None)
    assert "ordering_key" not in sends["acme"].messages[0][1].to_sqs_body()
