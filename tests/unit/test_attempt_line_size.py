"""An attempt's log line stays one CloudWatch Logs event (at most 256 KiB), whatever the excerpt holds
(hookrelay.delivery.report.log_attempt)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from hookrelay.attempts import lines
from hookrelay.delivery import report
from hookrelay.models import AttemptRecord, Outcome
from hookrelay.observability import JsonFormatter

EVENT_LIMIT = 256 * 1024


class Written(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("handler"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def written() -> Iterator[Written]:
    handler = Written()
    logging.getLogger(report.ATTEMPT_LOGGER).addHandler(handler)
    yield handler
    logging.getLogger(report.ATTEMPT_LOGGER).removeHandler(handler)


def attempt(excerpt: str) -> AttemptRecord:
    return AttemptRecord(
        webhook_id="msg_1", partner_id="acme", url="https://acme.example/hook", outcome=Outcome.DELIVERED,
        attempt=1, at=datetime(2026, 12, 1, tzinfo=UTC), status_code=200, response_excerpt=excerpt,
    )  # fmt: skip


def test_an_excerpt_of_64_kib_of_control_characters_still_fits_one_log_event(written: Written) -> None:
    # GIVEN an attempt whose excerpt is the largest a partner may set (64 KiB), all NUL characters (each
    # six bytes as JSON: the line would be ~384 KiB)
    excerpt = "\x00" * 65_536
    # WHEN its line is written
    report.log_attempt(attempt(excerpt))
    # THEN the line is one CloudWatch Logs event, and the recorder reads the record from it, the excerpt
    # shortened from its end
    [line] = written.lines
    assert len(line.encode()) < EVENT_LIMIT
    parsed = json.loads(line)
    assert lines.is_attempt_line(parsed)
    record = AttemptRecord.model_validate(parsed)
    assert record.response_excerpt is not None
    assert 0 < len(record.response_excerpt) < len(excerpt)
    assert excerpt.startswith(record.response_excerpt)


def test_an_ordinary_excerpt_is_written_whole(written: Written) -> None:
    # GIVEN an attempt with a 20,000-character excerpt of plain text (over the length that is checked)
    excerpt = "ok " * 6_667
    # WHEN its line is written, THEN the excerpt is in it whole
    report.log_attempt(attempt(excerpt))
    [line] = written.lines
    assert AttemptRecord.model_validate_json(line).response_excerpt == excerpt
