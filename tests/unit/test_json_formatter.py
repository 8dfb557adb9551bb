"""The JSON log line: Powertools' fields in Powertools' order, None left out, one line per record."""

from __future__ import annotations

import json
import logging
import sys
import time

import pytest

from hookrelay.observability import JsonFormatter


def record(created: float, msg: object = "delivery attempt", **extra: object) -> logging.LogRecord:
    made = logging.getLogger("hookrelay.test").makeRecord(
        "hookrelay.test", logging.INFO, "report.py", 72, msg, (), None, func="log_attempt", extra=extra
    )
    made.created, made.msecs = created, (created % 1) * 1000
    return made


def local_stamp(created: float) -> str:
    local = time.localtime(int(created))
    millis = int((created % 1) * 1000)
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', local)},{millis:03d}{time.strftime('%z', local)}"


def test_an_attempt_line_has_the_fields_in_order_and_leaves_none_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an attempt's fields, one of them None, inside a traced Lambda invocation
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc-def;Parent=1;Sampled=1")
    created = 1796130307.25
    line = record(created, webhook_id="msg_1", status_code=200, error=None, note="café")

    # WHEN it is formatted
    text = JsonFormatter("handler").format(line)

    # THEN one compact JSON object: Powertools' fields first, then the extras, then the trace id
    assert text == (
        '{"level":"INFO","location":"log_attempt:72","message":"delivery attempt",'
        f'"timestamp":"{local_stamp(created)}","service":"handler",'
        '"webhook_id":"msg_1","status_code":200,"note":"caf\\u00e9","xray_trace_id":"1-abc-def"}'
    )


def test_each_line_carries_its_own_seconds_timestamp() -> None:
    # GIVEN one formatter and records made in different seconds, and again in the first
    formatter = JsonFormatter("handler")
    times = (1796130307.5, 1796130309.001, 1796130307.999)

    # WHEN each is formatted
    stamps = [json.loads(formatter.format(record(t)))["timestamp"] for t in times]

    # THEN each shows its own time, to the millisecond
    assert stamps == [local_stamp(t) for t in times]


def test_an_exception_adds_its_fields_and_values_that_are_not_json_are_strings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a record of a failure, with an extra that JSON cannot hold
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    try:
        raise KeyError("gone")
    except KeyError:
        failed = record(1796130307.0, "handling failed", partner_id="acme", when=object)
        failed.exc_info = sys.exc_info()

    # WHEN it is formatted
    line = json.loads(JsonFormatter("handler").format(failed))

    # THEN the exception's fields are there (none of them null), and the odd value as its str()
    assert line["exception_name"] == "KeyError"
    assert line["stack_trace"]["type"] == "KeyError"
    assert "exception_notes" not in line
    assert line["when"] == str(object)
    assert line["partner_id"] == "acme"
