"""Posting to a Slack webhook played by a real HTTP server on 127.0.0.1: retries, Retry-After, giving up."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from hookrelay.alarms.slack_post import SlackPolicy, SlackRejected, post_message
from hookrelay.errors import DependencyUnavailable
from hookrelay_local.partner_server import PartnerServer, Received, Reply, always
from tests.support.ports import closed_port

pytestmark = pytest.mark.e2e
PAYLOAD = {"text": "ALARM: hookrelay-dev-acme-dlq-depth"}


class FakeTime:
    """A clock that moves only when the code under test sleeps (no real waiting, exact assertions)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def replies(*answers: Reply) -> Callable[[Received], Reply]:
    """Answer with each reply in turn, then repeat the last."""
    queue = list(answers)
    return lambda _request: queue.pop(0) if len(queue) > 1 else queue[0]


def post(server: PartnerServer | str, fake: FakeTime, policy: SlackPolicy | None = None) -> int:
    return post_message(
        SecretStr(server if isinstance(server, str) else server.url),
        PAYLOAD,
        policy=policy or SlackPolicy(),
        sleep=fake.sleep,
        clock=fake.clock,
        rand=lambda: 0.5,
    )


def test_429_then_200_waits_as_slack_asked_then_succeeds(
    partner_server: Callable[..., PartnerServer],
) -> None:
    """GIVEN Slack answers 429 Retry-After: 3 then 200 WHEN posting THEN it waits 3 s once and posts twice."""
    server = partner_server(replies(Reply(429, b"rate_limited", {"Retry-After": "3"}), Reply(200, b"ok")))
    fake = FakeTime()
    assert post(server, fake) == 2
    assert fake.sleeps == [3.0]
    bodies = [json.loads(r.body) for r in server.requests_snapshot()]
    assert bodies == [PAYLOAD, PAYLOAD]
    assert server.requests_snapshot()[0].headers["Content-Type"] == "application/json"


def test_5xx_is_retried_with_exponential_backoff(partner_server: Callable[..., PartnerServer]) -> None:
    """GIVEN a 503 and a 500, no Retry-After THEN waits of 1 s and 2 s x jitter; the third try succeeds."""
    server = partner_server(replies(Reply(503, b""), Reply(500, b""), Reply(200, b"ok")))
    fake = FakeTime()
    assert post(server, fake) == 3
    assert fake.sleeps == [0.5, 1.0]


def test_slack_down_raises_after_the_attempts(partner_server: Callable[..., PartnerServer]) -> None:
    """GIVEN Slack always answers 500 THEN it raises after max_attempts (so SNS/Lambda retry)."""
    server = partner_server(always(Reply(500, b"internal_error")))
    fake = FakeTime()
    with pytest.raises(DependencyUnavailable) as caught:
        post(server, fake, SlackPolicy(max_attempts=3))
    expected = "Slack did not accept the message after 3 attempt(s): HTTP 500 internal_error"
    assert caught.value.message == expected
    assert server.count == 3
    assert server.url not in caught.value.message


def test_a_retry_after_beyond_the_budget_gives_up_without_waiting(
    partner_server: Callable[..., PartnerServer],
) -> None:
    """GIVEN Retry-After: 120 and a 30 s budget THEN it raises at once rather than outlive the Lambda."""
    server = partner_server(always(Reply(429, b"rate_limited", {"Retry-After": "120"})))
    fake = FakeTime()
    with pytest.raises(DependencyUnavailable, match="after 1 attempt"):
        post(server, fake)
    assert (fake.sleeps, server.count) == ([], 1)


def test_connection_refused_is_retried_then_raises() -> None:
    """GIVEN nothing listening THEN each attempt fails to connect and the error names no URL."""
    fake = FakeTime()
    with closed_port() as port:
        url = f"http://127.0.0.1:{port}/services/T0/B0/secret"
        with pytest.raises(DependencyUnavailable) as caught:
            post(url, fake, SlackPolicy(max_attempts=2, connect_timeout=0.5))
    assert caught.value.message == "Slack did not accept the message after 2 attempt(s): ConnectionError"
    assert fake.sleeps == [0.5]


def test_a_4xx_rejection_is_not_retried(partner_server: Callable[..., PartnerServer]) -> None:
    """GIVEN Slack answers 400 invalid_blocks THEN SlackRejected at once, with status and Slack's reason."""
    server = partner_server(always(Reply(400, b"invalid_blocks")))
    with pytest.raises(SlackRejected) as caught:
        post(server, FakeTime())
    assert (caught.value.status, caught.value.body, server.count) == (400, "invalid_blocks", 1)
