"""The short soak (part of `make test`): 300 webhooks over 6 partners while 10 % of the product's AWS calls
fail (throttles, 500s, resets before and after moto applied the call) and 2 % more answer late. Every
webhook ends delivered or dead-lettered with its reason; none lost; no secret in any log line.
`make soak` runs the long form (5,000 webhooks, 20 partners); design in tests/support/soak.py."""

from __future__ import annotations

import pytest

from hookrelay_local.fault_plan import Fault
from tests.support.soak import SoakOptions, run_soak

pytestmark = pytest.mark.e2e
GONE = "gone: the endpoint answered 410 Gone; the partner wants disabling"
EXHAUSTED = "retries exhausted after 4 attempts; last: HTTP 503"


@pytest.mark.timeout(300)  # ~50 s at a load average of 15 on 2 cores; room for a machine loaded far beyond
def test_a_short_soak_on_a_faulty_aws_loses_nothing_and_leaks_no_secret() -> None:
    # GIVEN six partners (410 Gone, healthy, slow, failing 8 s then healthy, healthy, slow) on a stack
    # whose product AWS calls fail 10 % of the time (seeded)
    options = SoakOptions(webhooks=300, partners=6, settle_timeout=90)
    # WHEN 300 webhooks are published round-robin and everything settles
    result = run_soak(options)
    print(result.summary(), f"({result.seconds:.0f} s, {result.api_retries} publish retries)")
    # THEN each webhook is delivered or dead-lettered (nothing still queued), none lost
    count = result.count
    assert (count.lost, count.queued, count.delivered + count.dead_lettered) == (0, 0, 300)
    # AND each dead letter has its reason: the gone partner's 50 at once, the rest retries exhausted
    assert result.reasons[GONE] == 50
    assert set(result.reasons) <= {GONE, EXHAUSTED}
    assert sum(result.reasons.values()) == count.dead_lettered
    # AND every fault kind was injected, among them SendMessages applied whose answer was lost
    assert set(result.faults["by_kind"]) == {f.value for f in Fault}  # type: ignore[arg-type]
    assert result.faults["injected"].get("reset_after sqs.SendMessage", 0) > 0  # type: ignore[attr-defined]
    # AND duplicates are redeliveries of published ids only: nothing else reached a partner
    assert result.strays == set()
    assert result.duplicates >= 0
    # AND no log line of the run holds a secret
    assert result.log_lines > 0
    assert result.leaks == []
