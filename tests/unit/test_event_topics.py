"""Which partners' event types accept a topic, and which index keys the router reads for it (issue 14)."""

from __future__ import annotations

import itertools

import pytest

from hookrelay.partners.model import Partner
from hookrelay.provisioning.events.topics import accepts, candidate_patterns, index_keys, matches

PATTERNS = [
    "*",
    "invoice.*",
    "invoice.paid",
    "invoice.payment.*",
    "invoices.*",
    "customer.created",
    "invoice",
]
TOPICS = [
    "invoice.paid",
    "invoice",
    "invoices.paid",
    "invoice.payment.failed",
    "customer.created",
    "invoice.",
]


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("invoice.*", "invoice.paid", True),
        ("invoice.paid", "invoice.paid", True),
        ("*", "invoice.paid", True),
        ("customer.created", "invoice.paid", False),
        # the edge cases: a wildcard covers its whole subtree, and nothing that is not under its dot
        ("invoice.*", "invoice", False),
        ("invoice.*", "invoices.paid", False),
        ("invoice.*", "invoice.payment.failed", True),
        ("invoice.payment.*", "invoice.payment.failed", True),
        ("invoice.payment.*", "invoice.paid", False),
        ("invoice", "invoice.paid", False),
    ],
)
def test_a_pattern_accepts_exactly_its_topics(pattern: str, topic: str, expected: bool) -> None:
    # WHEN the pattern is matched against the topic, THEN the answer is the documented one
    assert matches(pattern, topic) is expected


def test_the_candidates_of_a_topic_are_itself_its_prefix_wildcards_and_star() -> None:
    # GIVEN topics with zero, one and two dots, THEN the router reads exactly these index keys
    assert candidate_patterns("invoice") == ["invoice", "*"]
    assert candidate_patterns("invoice.paid") == ["invoice.paid", "invoice.*", "*"]
    assert candidate_patterns("invoice.payment.failed") == [
        "invoice.payment.failed", "invoice.payment.*", "invoice.*", "*",
    ]  # fmt: skip


@pytest.mark.parametrize("topic", TOPICS)
def test_a_pattern_is_a_candidate_of_a_topic_exactly_when_a_partner_with_it_accepts_the_topic(
    topic: str,
) -> None:
    # GIVEN every pattern of the table, THEN reading the topic's candidates finds exactly the partners
    # Partner.accepts (what POST /partners/{id}/events checks) says take it
    for pattern in PATTERNS:
        partner = Partner(partner_id="p", url="https://example.com/hook", event_types=[pattern])
        assert (pattern in candidate_patterns(topic)) is partner.accepts(topic) is matches(pattern, topic)


def test_an_empty_list_accepts_everything_and_is_filed_under_star() -> None:
    # GIVEN a partner with no event types, THEN it takes every topic and is filed under "*" alone
    assert all(accepts([], topic) for topic in TOPICS)
    assert index_keys([]) == {"*"}
    # AND one with "*" among others is filed under "*" alone (not once per pattern)
    assert index_keys(["*", "invoice.paid"]) == {"*"}
    assert index_keys(["invoice.*", "customer.created"]) == {"invoice.*", "customer.created"}


def test_any_list_of_patterns_is_served_by_its_index_keys() -> None:
    # GIVEN every list of up to two patterns, THEN a topic is accepted exactly when one of the list's index
    # keys is among the topic's candidates (what the router's reads find)
    for size in (0, 1, 2):
        for types in itertools.combinations(PATTERNS, size):
            for topic in TOPICS:
                found = bool(index_keys(types) & set(candidate_patterns(topic)))
                assert found is accepts(types, topic), (types, topic)
