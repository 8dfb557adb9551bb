"""A paced partner's shared state on its item (moto DynamoDB), and the pacer two handler instances share.

The pacer's clock and sleep are injected: the schedule's arithmetic is exact, nothing waits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from hookrelay.aws.clients import Clients
from hookrelay.delivery.attempt import AttemptResult, Verdict
from hookrelay.delivery.decide import DeferUntil
from hookrelay.delivery.pacer import UNAVAILABLE_DEFER_SECONDS, Pacer
from hookrelay.partners.model import Partner
from hookrelay.partners.pace_store import PaceStore
from hookrelay.partners.pacing import PaceState
from hookrelay.partners.table import PartnerRepository

TABLE = "hookrelay-dev-partners"
T0 = 1_800_000_000.0


@pytest.fixture
def dynamodb(moto_aws: None) -> Any:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "partner_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "partner_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    repository = PartnerRepository(TABLE, Clients(overrides={"dynamodb": client}))
    repository.put(Partner(partner_id="acme", url="https://example.com/hooks"))
    return client


class Clock:
    def __init__(self) -> None:
        self.now = T0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(dynamodb: Any, clock: Clock, ceiling: float = 5.0, **options: Any) -> Pacer:
    store = PaceStore(TABLE, "acme", dynamodb)
    return Pacer(store, ceiling, clock=clock, sleep=clock.sleep, **options)


def answered(status: int, retry_after: float | None = None) -> AttemptResult:
    from datetime import timedelta

    return AttemptResult(
        attempt=1,
        at=datetime.fromtimestamp(T0, UTC),
        verdict=Verdict.SUCCESS if status < 300 else Verdict.RETRY,
        duration_ms=1,
        status_code=status,
        retry_after=None if retry_after is None else timedelta(seconds=retry_after),
    )


def test_a_claim_from_a_stale_read_fails_and_writes_nothing(dynamodb: Any) -> None:
    # GIVEN two instances that read the same state
    store = PaceStore(TABLE, "acme", dynamodb)
    seen = store.read()
    assert seen == PaceState()
    # WHEN both claim from it
    first, second = store.claim(seen, T0 + 1), store.claim(seen, T0 + 2)
    # THEN only the first moved the schedule
    assert (first, second) == (True, False)
    assert store.read() == PaceState(next_free=T0 + 1)


def test_pacing_attributes_and_the_partner_document_never_overwrite_each_other(dynamodb: Any) -> None:
    # GIVEN a claim and an adaptive rate on acme's item
    store = PaceStore(TABLE, "acme", dynamodb)
    assert store.claim(PaceState(), T0 + 1)
    assert store.set_rate(store.read(), 2.5, decreased_at=T0)
    # WHEN the provisioner changes the partner
    repository = PartnerRepository(TABLE, Clients(overrides={"dynamodb": dynamodb}))
    repository.put(repository.get("acme").touched(url="https://example.com/other"))
    # THEN both survive
    assert store.read() == PaceState(next_free=T0 + 1, rate=2.5, decreased_at=T0)
    assert repository.get("acme").url == "https://example.com/other"


def test_a_deleted_partner_is_never_brought_back_by_its_pacing(dynamodb: Any) -> None:
    # GIVEN a partner deleted while its handler still runs
    store = PaceStore(TABLE, "gone", dynamodb)
    # WHEN the handler claims slots, sets a rate, keeps a Retry-After
    claimed = store.claim(PaceState(), T0)
    rated = store.set_rate(PaceState(), 1.0)
    store.push_not_before(T0 + 5)
    # THEN nothing is written: no stub item appears
    assert (claimed, rated) == (False, False)
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key={"partner_id": {"S": "gone"}})


def test_a_later_retry_after_wins_over_an_earlier_one(dynamodb: Any) -> None:
    store = PaceStore(TABLE, "acme", dynamodb)
    store.push_not_before(T0 + 30)
    store.push_not_before(T0 + 10)
    assert store.read().not_before == T0 + 30


def test_two_instances_take_consecutive_slots_from_one_schedule(dynamodb: Any) -> None:
    # GIVEN two handler instances of acme (5/s), same clock
    clock = Clock()
    a, b = pacer(dynamodb, clock), pacer(dynamodb, clock)
    # WHEN each begins a batch of 3 at the same moment
    pace_a, pace_b = a.begin(["a1", "a2", "a3"]), b.begin(["b1", "b2", "b3"])
    # THEN the second batch's slots follow the first's, 0.22 s apart: never two at once
    slots = sorted([*pace_a.slots.values(), *pace_b.slots.values()])  # type: ignore[type-var]
    assert slots == pytest.approx([T0 + i * 0.22 for i in range(6)])
    # AND a record waits for its slot before it is sent
    assert pace_b.gate("b2") is None
    assert clock.now == pytest.approx(T0 + 4 * 0.22)


def test_records_beyond_the_budget_are_deferred_not_sent(dynamodb: Any) -> None:
    # GIVEN a 1/s partner whose batch may wait 2 s for slots
    clock = Clock()
    paced = pacer(dynamodb, clock, ceiling=1.0, budget=2.0)
    # WHEN a batch of 4 begins
    pace = paced.begin(["m1", "m2", "m3", "m4"])
    # THEN two slots fit (0 and 1.1 s); the others go back, due about when their turn comes
    assert pace.slots["m1"] == T0
    assert pace.slots["m2"] == pytest.approx(T0 + 1.1)
    for mid, offset in (("m3", 2.2), ("m4", 3.3)):
        deferred = pace.slots[mid]
        assert isinstance(deferred, DeferUntil)
        assert deferred.until.timestamp() == pytest.approx(T0 + offset)
    assert pace.gate("m3") == pace.slots["m3"]


def test_an_unreadable_schedule_defers_the_whole_batch(moto_aws: None) -> None:
    # GIVEN no partners table at all
    clock = Clock()
    paced = pacer(boto3.client("dynamodb", region_name="us-east-1"), clock)
    # WHEN a batch begins
    pace = paced.begin(["m1", "m2"])
    # THEN nothing is sent; every record comes back a few seconds later
    until = datetime.fromtimestamp(T0 + UNAVAILABLE_DEFER_SECONDS, UTC)
    assert pace.slots == {"m1": DeferUntil(until), "m2": DeferUntil(until)}


def test_one_congestion_seen_by_two_instances_halves_the_rate_once(dynamodb: Any) -> None:
    # GIVEN two adaptive instances at a 20/s ceiling, each with a batch sent at T0
    clock = Clock()
    a, b = pacer(dynamodb, clock, 20.0, adaptive=True), pacer(dynamodb, clock, 20.0, adaptive=True)
    pace_a, pace_b = a.begin(["a1"]), b.begin(["b1"])
    for pace, mid in ((pace_a, "a1"), (pace_b, "b1")):
        pace.gate(mid)
    # WHEN both get a 429 (one with Retry-After: 30) and end their batch
    pace_a.observe("a1", answered(429, retry_after=30))
    pace_b.observe("b1", answered(429))
    clock.now += 1
    ended = clock.now
    a.end(pace_a)
    b.end(pace_b)
    # THEN the rate halved once, and the Retry-After holds: the next batch goes back until then
    state = a.store.read()
    assert (state.rate, state.decreased_at, state.not_before) == (10.0, ended, ended + 30)
    assert a.begin(["a2"]).slots["a2"] == DeferUntil(datetime.fromtimestamp(ended + 30, UTC))


def test_successes_climb_back_to_the_ceiling(dynamodb: Any) -> None:
    # GIVEN an adaptive partner halved to 10/s (ceiling 20/s)
    clock = Clock()
    paced = pacer(dynamodb, clock, 20.0, adaptive=True)
    assert paced.store.set_rate(PaceState(), 10.0, decreased_at=T0)
    # WHEN batches of 10 successes follow
    rates = []
    for _ in range(16):
        pace = paced.begin([f"m{i}" for i in range(10)])
        for i in range(10):
            pace.gate(f"m{i}")
            pace.observe(f"m{i}", answered(200))
        paced.end(pace)
        rates.append(paced.store.read().rate)
    # THEN each adds a twentieth of the ceiling per rate's worth of successes, up to the ceiling
    expected, rate = [], 10.0
    for _ in range(16):
        rate = min(20.0, rate + 1.0 * 10 / rate)
        expected.append(rate)
    assert rates == pytest.approx(expected)
    assert rates[-1] == 20.0
