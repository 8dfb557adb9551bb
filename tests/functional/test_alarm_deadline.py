"""alarm-to-slack within one deadline: the Lambda context's remaining time bounds the log read and the post.

Slack is a real loopback server that answers slowly or never; the logs client blocks. The app is run
through chalice's test client with a context of a chosen remaining time.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import chalice.test
import pytest
from chalice.local import LambdaContext
from chalice.test import Client

from hookrelay.alarms.deadline import (
    ENRICH_MIN_SECONDS,
    MARGIN_SECONDS,
    Deadline,
    OutOfTime,
    within,
)
from hookrelay.alarms.forwarding import AlarmDeps
from hookrelay.alarms.settings import AlarmToSlackSettings, WebhookUrl
from hookrelay.alarms.slack_post import SlackPolicy
from hookrelay.errors import DependencyUnavailable
from hookrelay_local.partner_server import PartnerServer, Reply, always
from tests.support import alarm_events as ev
from tests.support.apps import load_app_file

APP_DIR = Path(__file__).resolve().parents[2] / "alarm-to-slack"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Context:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


@pytest.mark.parametrize(
    ("remaining_ms", "deadline_in", "enrichment"),
    [
        (60_000, 57.0, 10.0),  # a fresh 60 s invocation: the enrichment's cap
        (12_000, 9.0, 3.0),  # a third of what is left
        (9_500, 6.5, 1.5),  # what leaves Slack its 5 s
        (8_000, 5.0, 0.0),  # too little: skipped
    ],
)
def test_the_deadline_and_the_enrichment_share_come_from_the_remaining_time(
    remaining_ms: int, deadline_in: float, enrichment: float
) -> None:
    clock = Clock()
    deadline = Deadline.from_context(Context(remaining_ms), clock)
    assert deadline.at - clock.now == pytest.approx(deadline_in)
    assert deadline.enrichment_budget() == pytest.approx(enrichment)
    assert deadline.enrichment().at - clock.now == pytest.approx(enrichment)


def test_without_a_context_the_deadline_is_the_functions_timeout_less_the_margin() -> None:
    clock = Clock()
    assert Deadline.from_context(None, clock).at - clock.now == 60.0 - MARGIN_SECONDS


def test_within_stops_waiting_at_the_deadline_and_passes_errors_through() -> None:
    release = threading.Event()
    deadline = Deadline(time.monotonic() + ENRICH_MIN_SECONDS + 0.2)
    started = time.monotonic()
    with pytest.raises(OutOfTime, match=r"^logs not read: out of time$"):
        within(deadline, "logs", lambda: release.wait(30))
    assert ENRICH_MIN_SECONDS <= time.monotonic() - started < ENRICH_MIN_SECONDS + 1.5
    release.set()
    with pytest.raises(ValueError, match="boom"):
        within(Deadline(time.monotonic() + 5), "logs", lambda: (_ for _ in ()).throw(ValueError("boom")))
    assert within(Deadline(time.monotonic() + 5), "logs", lambda: 7) == 7


class BlockingLogs:
    """A CloudWatch Logs client whose read blocks until the test ends (a slow Logs Insights or filter)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def filter_log_events(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        self.release.wait(60)
        return {"events": []}


@pytest.fixture
def app_module() -> ModuleType:
    return load_app_file(APP_DIR / "app.py", "alarm_to_slack_app_deadline")


@pytest.fixture
def run(
    app_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[PartnerServer, str, int], Any]]:
    """``run(slack, message, remaining_ms)``: the forward function, its context that much time left."""
    logs = BlockingLogs()
    monkeypatch.setattr(app_module, "configure_logging", lambda *_args: None)

    def invoke(slack: PartnerServer, message: str, remaining_ms: int) -> Any:
        settings = AlarmToSlackSettings(
            stage="dev", slack_webhook_url=slack.url, slack_policy=SlackPolicy(base_delay_seconds=0.2)
        )
        deps = AlarmDeps(settings=settings, webhook=WebhookUrl(settings), logs=logs)
        monkeypatch.setattr(app_module, "deps", lambda: deps)
        context = functools.partial(LambdaContext, max_runtime_ms=remaining_ms)
        monkeypatch.setattr(chalice.test, "LambdaContext", context)
        with Client(app_module.app, stage_name="dev", project_dir=str(APP_DIR)) as client:
            event = client.events.generate_sns_event(message=message, subject="ALARM")
            return client.lambda_.invoke("forward", event).payload

    yield invoke
    logs.release.set()


def test_a_slow_log_read_is_skipped_and_the_slow_post_still_goes_out_in_time(
    run: Callable[[PartnerServer, str, int], Any], partner_server: Callable[..., PartnerServer]
) -> None:
    # GIVEN a handler-errors alarm, logs that never answer, Slack answering after 2 s, 12 s left
    slack = partner_server(always(Reply(200, b"ok", delay=2.0)))
    started = time.monotonic()
    # WHEN the alarm is forwarded
    result = run(slack, ev.raw(ev.LAMBDA_ERRORS), 12_000)
    elapsed = time.monotonic() - started
    # THEN it returned within the deadline (12 s less the 3 s margin): 3 s of logs, 2 s of Slack
    assert elapsed < 12.0 - MARGIN_SECONDS
    assert result["attempts"] == 1
    # AND the message went out, saying the logs were not read
    [request] = slack.requests_snapshot()
    assert b"logs not read: out of time" in request.body
    assert b"ALARM: hookrelay-dev-acme-lambda-errors" in request.body


def test_slack_that_never_answers_fails_the_invocation_before_lambda_would_kill_it(
    run: Callable[[PartnerServer, str, int], Any], partner_server: Callable[..., PartnerServer]
) -> None:
    # GIVEN Slack that accepts the connection and never answers, and 8 s left in the invocation
    slack = partner_server(always(Reply(hang=True)))
    started = time.monotonic()
    # WHEN the alarm is forwarded THEN it raises (for Lambda's retry) before the 8 s are up
    with pytest.raises(DependencyUnavailable, match="Slack did not accept the message after"):
        run(slack, ev.raw(ev.LAMBDA_ERRORS), 8_000)
    elapsed = time.monotonic() - started
    assert elapsed < 8.0 - MARGIN_SECONDS + 0.5
    # AND it tried Slack (the logs were skipped: 5 s left is Slack's minimum)
    assert len(slack.requests_snapshot()) >= 1
