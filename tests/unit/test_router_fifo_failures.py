"""The events router's failures on a FIFO batch (Lambda's rule): a group resumes at its first failure."""

from __future__ import annotations

from typing import Any

import pytest

from hookrelay.provisioning.events.model import Event
from hookrelay.provisioning.events.router import fifo_failures, from_fifo_queue

FIFO_ARN = "arn:aws:sqs:us-east-1:123456789012:hookrelay-dev-events.fifo"


def records(groups: str) -> list[dict[str, Any]]:
    """One FIFO record per letter, its group the letter."""
    return [
        {"messageId": f"m{i}", "attributes": {"MessageGroupId": g}, "eventSourceARN": FIFO_ARN}
        for i, g in enumerate(groups)
    ]


@pytest.mark.parametrize(
    ("groups", "failed", "reported"),
    [
        ("aaa", set(), set()),  # nothing failed: nothing reported
        ("aaa", {0}, {0, 1, 2}),  # the head failed: the whole group comes back
        ("aaa", {1}, {1, 2}),  # a middle one: it and what follows, not what came before
        ("abab", {0}, {0, 2}),  # group b goes on
        ("abab", {0, 3}, {0, 2, 3}),
        ("aabb", {3}, {3}),  # the last record alone
    ],
)
def test_a_failure_takes_every_later_record_of_its_group_with_it(
    groups: str, failed: set[int], reported: set[int]
) -> None:
    assert fifo_failures(records(groups), {}, failed) == reported


def test_without_a_group_attribute_the_events_ordering_key_is_its_group() -> None:
    # GIVEN records without attributes (a hand-made event) whose events carry ordering keys a, b, a
    bare = [{"messageId": f"m{i}", "eventSourceARN": FIFO_ARN} for i in range(3)]
    events = {i: Event(id=f"e{i}", topic="t", payload={}, ordering_key=k) for i, k in enumerate("aba")}
    # WHEN the first fails, THEN the third (same key) is reported with it, not the second
    assert fifo_failures(bare, events, {0}) == {0, 2}


def test_only_a_batch_of_a_fifo_queue_is_read_as_fifo() -> None:
    assert from_fifo_queue(records("a"))
    assert not from_fifo_queue([{"messageId": "m", "eventSourceARN": FIFO_ARN.removesuffix(".fifo")}])
    assert not from_fifo_queue([{"messageId": "m"}])
