"""Logs, traces and URL redaction behave outside Lambda as they must inside it."""

from __future__ import annotations

import json
import logging

import pytest

from hookrelay import observability


def test_logging_is_json_and_keeps_aws_libraries_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    observability._configured.discard("logging")
    observability.configure_logging("test", "DEBUG")
    logging.getLogger("hookrelay.test").info(
        "delivery attempt", extra={"webhook_id": "msg_1", "status_code": 200}
    )
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["message"], line["webhook_id"], line["status_code"], line["service"]) == (
        "delivery attempt",
        "msg_1",
        200,
        "test",
    )
    # botocore logs request bodies (secrets included) at DEBUG: it stays at WARNING whatever our level
    assert logging.getLogger("botocore").getEffectiveLevel() == logging.WARNING


def test_tracing_is_off_outside_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_xray_sdk import global_sdk_config

    monkeypatch.delenv("AWS_XRAY_SDK_ENABLED", raising=False)
    assert observability.configure_tracing() is False
    assert global_sdk_config.sdk_enabled() is False


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://acme.example/hooks?token=s3cr3t", "https://acme.example/hooks?(redacted)"),
        ("https://acme.example/hooks#frag", "https://acme.example/hooks"),
        ("http://127.0.0.1:9000/x", "http://127.0.0.1:9000/x"),
    ],
)
def test_urls_are_logged_without_query_strings(url: str, shown: str) -> None:
    assert observability.redact_url(url) == shown


class _Context:
    def __init__(self, request_id: str, function_name: str = "hookrelay-dev-acme") -> None:
        self.aws_request_id = request_id
        self.function_name = function_name


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]


def test_log_lines_in_an_invocation_carry_the_request_id_and_the_cold_start_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import contextvars
    import threading

    observability._configured.discard("logging")
    observability._warm.discard("fn-cold-start-test")
    observability.configure_logging("test", "INFO")
    log = logging.getLogger("hookrelay.test")
    capsys.readouterr()
    # GIVEN two invocations of one function; the first logs from its own thread too
    with observability.invocation(_Context("req-1", "fn-cold-start-test")):
        log.info("first")
        worker = threading.Thread(target=contextvars.copy_context().run, args=(log.info, "in a thread"))
        worker.start()
        worker.join()
    with observability.invocation(_Context("req-2", "fn-cold-start-test")):
        log.info("second")
    log.info("between invocations")
    # THEN each line carries its own invocation's fields; only the first invocation is cold
    seen = [(line["message"], line.get("aws_request_id"), line.get("cold_start")) for line in _lines(capsys)]
    assert seen == [
        ("first", "req-1", True),
        ("in a thread", "req-1", True),
        ("second", "req-2", False),
        ("between invocations", None, None),
    ]
