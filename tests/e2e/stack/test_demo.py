"""`make demo` keeps working: a small run ends with every event delivered and none lost, checked by the
test's own count of what the demo's partner servers answered, not only by the demo's summary line."""

from __future__ import annotations

from typing import Any

import pytest

from hookrelay_local import demo
from hookrelay_local.partner_server import Received, Reply

pytestmark = pytest.mark.e2e


def test_a_small_demo_loses_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a spy on every answer the demo's partner servers give, and on the partners it makes
    partners: list[demo.Partner] = []
    answered: list[tuple[str, int]] = []
    make, answer = demo.Partner.__init__, demo.Partner.answer

    def made(self: demo.Partner, *args: Any) -> None:
        make(self, *args)
        partners.append(self)

    def spied(self: demo.Partner, request: Received) -> Reply:
        reply = answer(self, request)
        answered.append((request.headers.get("webhook-id", ""), reply.status))
        return reply

    monkeypatch.setattr(demo.Partner, "__init__", made)
    monkeypatch.setattr(demo.Partner, "answer", spied)
    # WHEN a small demo runs (and its health scene, with 5 events to the partner that goes dark)
    assert demo.run(events=9, health_events=5) == 0
    # THEN every published webhook got a 2xx from its partner, and nothing unpublished was delivered
    published = {webhook_id for partner in partners for webhook_id in partner.published}
    delivered = {webhook_id for webhook_id, status in answered if 200 <= status < 300}
    assert len(published) == 9 + 5  # the three partners' 9, and the 5 of the partner that went dark
    assert delivered == published
    # AND the demo's own summary says the same (duplicates are allowed: at-least-once)
    lines = capsys.readouterr().out.strip().splitlines()
    last = lines[-1]
    assert last.startswith("events published: 14, delivered: 14, duplicates: ")
    assert last.endswith(", lost: 0")
    # AND the replay scene's partner lost its 3 webhooks, and the replay matched and brought back all 3
    (replayed,) = [line for line in lines if line.startswith("replay: partner forgetful")]
    assert replayed.startswith("replay: partner forgetful lost 3 of 3 webhooks; the replay matched 3 ")
    assert replayed.endswith("still lost: 0")
    # AND the fan-out scene's 6 events, published once, reached exactly the partners whose types accept
    # them: billing (invoice.*) 4, crm (customer.created) 2, audit (everything) 6; a repeat was a duplicate
    (fanned,) = [line for line in lines if line.startswith("fan-out: ")]
    assert fanned == (
        "fan-out: 6 events published once to 3 partners by topic: 12 webhooks expected, 12 delivered, "
        "0 misrouted; an id published again answered 200 duplicate; lost: 0"
    )
