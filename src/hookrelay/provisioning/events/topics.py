"""Which event-type patterns serve a topic: pure wildcard matching and the subscription index's keys.

A partner's ``event_types`` are exact topics (``invoice.paid``), a prefix wildcard (``invoice.*``), or
``*``; an empty list accepts every topic. The rules, the same as :meth:`Partner.accepts`:

- ``invoice.*`` matches every topic that starts with ``invoice.``: ``invoice.paid`` and, at any depth,
  ``invoice.payment.failed`` (a wildcard covers a whole subtree, like Svix's and Hook0's prefixes);
- it does not match ``invoice`` (no dot, so not under it) nor ``invoices.paid`` (another word);
- ``*`` and ``[]`` match everything.

So a topic is served by exactly :func:`candidate_patterns`: itself, ``*``, and ``<prefix>.*`` for each
of its dots (``invoice.payment.failed``: ``invoice.*`` and ``invoice.payment.*``). The router reads the
index once per candidate (2 + the number of dots), whatever the number of partners.
"""

from __future__ import annotations

from collections.abc import Iterable

ALL = "*"  # the index key of a partner that accepts every topic ("*" or an empty list)
WILDCARD_SUFFIX = ".*"


def matches(pattern: str, topic: str) -> bool:
    """True when one event-type pattern accepts ``topic``."""
    if pattern in (ALL, topic):
        return True
    return pattern.endswith(WILDCARD_SUFFIX) and topic.startswith(pattern[:-1])


def accepts(event_types: Iterable[str], topic: str) -> bool:
    """True when a partner with these ``event_types`` receives ``topic`` (an empty list: every topic)."""
    patterns = list(event_types)
    return not patterns or any(matches(pattern, topic) for pattern in patterns)


def candidate_patterns(topic: str) -> list[str]:
    """Every pattern that accepts ``topic``, most specific first; the index keys the router reads."""
    prefixes = [topic[: i + 1] + ALL for i, char in enumerate(topic) if char == "."]
    return list(dict.fromkeys([topic, *reversed(prefixes), ALL]))


def index_keys(event_types: Iterable[str]) -> set[str]:
    """The index keys a partner is filed under: its patterns, or ``*`` when it accepts everything."""
    patterns = set(event_types)
    return {ALL} if not patterns or ALL in patterns else patterns
