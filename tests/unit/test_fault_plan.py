"""The fault plan: seeded and replayable per operation, first matching rule wins, shares checked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hookrelay_local.aws_wire import Call
from hookrelay_local.fault_plan import Fault, FaultInjector, FaultPlan, FaultRule

SEND = Call("sqs", "SendMessage")
GET = Call("dynamodb", "GetItem")


def fates(injector: FaultInjector, calls: list[Call]) -> list[Fault | None]:
    return [injector.draw(call) for call in calls]


def test_the_same_seed_gives_each_operation_the_same_fates_whatever_the_interleaving() -> None:
    # GIVEN two injectors with the same plan (30 % faults, seed 7)
    plan = FaultPlan.uniform(0.3, seed=7)
    first, second = FaultInjector(plan), FaultInjector(plan)
    # WHEN one sees 200 SendMessage then 200 GetItem, the other the same calls interleaved
    one = fates(first, [SEND] * 200 + [GET] * 200)
    other = fates(second, [SEND, GET] * 200)
    # THEN each operation met the same fates in the same order, and the counts agree
    assert one[:200] == other[0::2]
    assert one[200:] == other[1::2]
    assert first.report() == second.report()


def test_another_seed_gives_other_fates() -> None:
    one = fates(FaultInjector(FaultPlan.uniform(0.3, seed=1)), [SEND] * 200)
    other = fates(FaultInjector(FaultPlan.uniform(0.3, seed=2)), [SEND] * 200)
    assert one != other


def test_a_share_is_about_that_share_of_the_calls_split_over_the_five_kinds() -> None:
    # GIVEN a 10 % plan
    injector = FaultInjector(FaultPlan.uniform(0.1, seed=3))
    # WHEN 20,000 calls are drawn
    fates(injector, [SEND] * 20_000)
    # THEN about 2,000 are faults, each kind about 400
    report = injector.report()
    assert 1_800 <= report["total"] <= 2_200  # type: ignore[operator]
    assert set(report["by_kind"]) == {f.value for f in Fault}  # type: ignore[arg-type]
    assert all(330 <= n <= 470 for n in report["by_kind"].values())  # type: ignore[attr-defined]
    assert report["calls"] == {"sqs.SendMessage": 20_000}


def test_the_first_matching_rule_decides_and_unmatched_calls_pass() -> None:
    # GIVEN a plan resetting every SendMessage, and nothing for other SQS calls
    plan = FaultPlan(
        rules=[
            FaultRule(match="sqs.SendMessage", shares={Fault.RESET_AFTER: 1.0}),
            FaultRule(match="sqs.*", shares={}),
        ]
    )
    injector = FaultInjector(plan)
    # WHEN SendMessage, ReceiveMessage and a DynamoDB call are drawn
    drawn = fates(injector, [SEND, Call("sqs", "ReceiveMessage"), GET])
    # THEN only SendMessage gets a fault
    assert drawn == [Fault.RESET_AFTER, None, None]
    assert injector.report()["injected"] == {"reset_after sqs.SendMessage": 1}


def test_shares_adding_up_to_more_than_all_calls_are_refused() -> None:
    with pytest.raises(ValidationError, match="add up to at most 1"):
        FaultRule(match="*", shares={Fault.THROTTLE: 0.6, Fault.SLOW: 0.5})
