"""CloudWatch Logs subscription filters, as far as the local runtime reads them.

A filter's pattern selects the log events a subscription delivers. Supported here: the empty pattern
(every event) and one JSON equality, ``{ $.<field> = "<value>" }`` (``<field>`` may be a dotted path),
which is what hookrelay's attempt-lines filter uses (``{ $.record = "attempt" }``). Any other pattern is
refused with :class:`UnsupportedPattern` (the runtime then says so once and delivers nothing for it),
rather than guessed at: a pattern matched differently here than on AWS would hide a bug.

As on AWS, a JSON pattern matches only an event whose message is a JSON object, and compares the field's
value as a string with no coercion (``"attempt"`` matches the string ``attempt`` only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_JSON_EQUALS = re.compile(
    r'\{\s*\$\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*=\s*"([^"*]*)"\s*\}'
)


class UnsupportedPattern(ValueError):
    """A filter pattern the local runtime does not emulate."""


@dataclass(frozen=True)
class Pattern:
    """A parsed filter pattern: ``path`` None matches every event."""

    text: str
    path: tuple[str, ...] | None = None
    value: str = ""

    def matches(self, message: str) -> bool:
        if self.path is None:
            return True
        if not message.startswith("{"):
            return False
        try:
            found: Any = json.loads(message)
        except ValueError:
            return False
        for key in self.path:
            if not isinstance(found, dict) or key not in found:
                return False
            found = found[key]
        return isinstance(found, str) and found == self.value


def parse_pattern(text: str) -> Pattern:
    """The pattern of ``text``; UnsupportedPattern for anything but "" and ``{ $.<field> = "<value>" }``."""
    if not text.strip():
        return Pattern(text)
    match = _JSON_EQUALS.fullmatch(text.strip())
    if match is None:
        raise UnsupportedPattern(
            f"filter pattern {text!r} is not emulated locally: only '' and "
            "'{ $.<field> = \"<value>\" }' are supported"
        )
    return Pattern(text, tuple(match.group(1).split(".")), match.group(2))


@dataclass(frozen=True)
class Subscription:
    """One subscription filter of a log group, to a Lambda function."""

    log_group: str
    name: str
    pattern: Pattern
    destination_arn: str

    @classmethod
    def from_api(cls, entry: Mapping[str, Any]) -> Subscription:
        """From one ``DescribeSubscriptionFilters`` entry (UnsupportedPattern: a pattern not emulated)."""
        return cls(
            log_group=entry["logGroupName"],
            name=entry["filterName"],
            pattern=parse_pattern(entry.get("filterPattern", "")),
            destination_arn=entry["destinationArn"],
        )
