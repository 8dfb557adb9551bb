"""The subscription filter patterns the local runtime emulates: what each matches, and what it refuses."""

from __future__ import annotations

import pytest

from hookrelay.attempts.lines import FILTER_PATTERN
from hookrelay_local.lambda_runtime.log_filters import UnsupportedPattern, parse_pattern


@pytest.mark.parametrize(
    ("message", "matched"),
    [
        ('{"record":"attempt","webhook_id":"msg_1"}', True),  # the handler's marked line
        ('{"level":"INFO","record":"attempt"}', True),
        ('{"record":"attempts"}', False),  # equality, not a prefix
        ('{"record":"other"}', False),
        ('{"webhook_id":"msg_1"}', False),  # no such field
        ('{"record":["attempt"]}', False),  # not a string
        ('{"nested":{"record":"attempt"}}', False),  # $.record is top level only
        ("record attempt", False),  # not JSON: a JSON pattern never matches it
        ('{"record":"attempt"', False),  # broken JSON
        ('["attempt"]', False),
    ],
)
def test_the_attempt_filter_matches_marked_json_lines_only(message: str, matched: bool) -> None:
    assert parse_pattern(FILTER_PATTERN).matches(message) is matched


def test_a_dotted_path_and_the_empty_pattern() -> None:
    assert parse_pattern('{ $.a.b = "c" }').matches('{"a":{"b":"c"}}')
    assert not parse_pattern('{ $.a.b = "c" }').matches('{"a":{"b":"d"}}')
    assert parse_pattern("").matches("anything at all")


@pytest.mark.parametrize(
    "pattern",
    [
        "ERROR",
        '{ $.status != "ok" }',
        "{ $.latency > 5 }",
        '{ $.a = "x" && $.b = "y" }',
        '{ $.a = "x*" }',
        "[ip, user]",
    ],
)
def test_other_patterns_are_refused_clearly(pattern: str) -> None:
    with pytest.raises(UnsupportedPattern, match="is not emulated locally"):
        parse_pattern(pattern)
