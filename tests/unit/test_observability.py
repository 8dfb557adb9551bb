"""Logs, traces and URL redaction behave outside Lambda as they must inside it."""

from __future__ import annotations

import json
import logging

import pytest

from hookrelay import observability, tracing


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
    assert tracing.configure_tracing() is False
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


def test_a_line_logged_with_an_exception_names_it_and_carries_its_stack_and_no_empty_fields(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    observability._configured.discard("logging")
    observability.configure_logging("test", "INFO")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc-def;Parent=1;Sampled=1")
    capsys.readouterr()
    # GIVEN an exception being handled WHEN it is logged with a None-valued extra field
    try:
        raise KeyError("gone")
    except KeyError:
        logging.getLogger("hookrelay.test").exception("failed", extra={"webhook_id": "msg_1", "status": None})
    [line] = _lines(capsys)
    # THEN the line has Powertools' fields, the exception's name, text and frames, the trace id, no None
    assert list(line)[:5] == ["level", "location", "message", "timestamp", "service"]
    assert (line["level"], line["message"], line["webhook_id"], line["exception_name"]) == (
        "ERROR",
        "failed",
        "msg_1",
        "KeyError",
    )
    assert "status" not in line
    assert "KeyError: 'gone'" in str(line["exception"])
    stack = line["stack_trace"]
    assert isinstance(stack, dict)
    assert (stack["type"], stack["module"], stack["frames"][-1]["function"]) == (
        "KeyError",
        "builtins",
        "test_a_line_logged_with_an_exception_names_it_and_carries_its_stack_and_no_empty_fields",
    )
    assert line["xray_trace_id"] == "1-abc-def"


def test_metrics_print_one_embedded_metric_format_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()
    # GIVEN a metric set with a dimension, a metric added twice and one added once
    emf = observability.metrics("Hookrelay", "handler", partner="acme")
    emf.add_metric(name="Latency", unit=observability.MILLISECONDS, value=12)
    emf.add_metric(name="Latency", unit=observability.MILLISECONDS, value=30)
    emf.add_metric(name="Delivered", unit=observability.COUNT, value=2)
    # WHEN it is flushed
    emf.flush_metrics()
    # THEN one EMF document is printed: the metadata, the dimensions' values, each metric's value(s)
    [document] = _lines(capsys)
    aws = document.pop("_aws")
    assert isinstance(aws, dict)
    assert aws["CloudWatchMetrics"] == [
        {
            "Namespace": "Hookrelay",
            "Dimensions": [["service", "partner"]],
            "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}, {"Name": "Delivered", "Unit": "Count"}],
        }
    ]
    assert isinstance(aws["Timestamp"], int)
    assert document == {"service": "handler", "partner": "acme", "Latency": [12, 30], "Delivered": 2}


def test_metrics_print_nothing_when_switched_off(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN metrics switched off as the tests and the local stack do
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    capsys.readouterr()
    emf = observability.metrics("Hookrelay", "handler", partner="acme")
    emf.add_metric(name="Delivered", unit=observability.COUNT, value=1)
    # WHEN flushed THEN nothing is printed
    emf.flush_metrics()
    assert capsys.readouterr().out == ""


def test_a_sampled_invocation_whose_tracing_fails_to_load_still_runs_and_logs_it_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN tracing configured in Lambda (the SDK's patching replaced by one that fails), not yet sampled
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "hookrelay-dev-acme")
    monkeypatch.delenv("HOOKRELAY_LOCAL_RUNTIME", raising=False)
    monkeypatch.delenv("AWS_XRAY_SDK_ENABLED", raising=False)
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-6762f3a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"
    )
    monkeypatch.setattr(tracing, "_enabled", False)
    monkeypatch.setattr(tracing, "_untraced", None)
    tries: list[tuple[str, ...]] = []

    def failing_patch(libraries: tuple[str, ...]) -> None:
        tries.append(libraries)
        raise ImportError("no aws_xray_sdk")

    monkeypatch.setattr(tracing, "_patch", failing_patch)
    assert tracing.configure_tracing(("botocore", "urllib3")) is True
    assert tries == []  # not sampled: nothing is loaded
    # WHEN two sampled invocations follow
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-6762f3a1-89abcdef0123456789abcdef;Parent=557abcec3ee5a047;Sampled=1"
    )
    for request in ("req-1", "req-2"):
        with observability.invocation(_Context(request)) as fields:
            assert fields["aws_request_id"] == request
    # THEN both ran; loading was tried once, logged once, and tracing stayed off
    assert tries == [("botocore", "urllib3")]
    assert [r.getMessage() for r in caplog.records if "X-Ray" in r.getMessage()] == [
        "X-Ray tracing could not be loaded; it stays off"
    ]
    assert tracing.trace_if_sampled() is False
