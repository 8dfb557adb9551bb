"""The Slack message of a partner health notice: valid Block Kit (slack-sdk's models), what on-call needs
(partner, failures, last topic and error, the command to resume), never a secret or a payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hookrelay.alarms.health_message import health_message
from hookrelay.health_notice import HealthNotice, NoticeKind, parse_health_notice, resume_command, scrub
from tests.support import alarm_events as ev

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def notice(kind: NoticeKind, **changes: object) -> HealthNotice:
    return HealthNotice.model_validate(
        {
            "kind": kind,
            "stage": "dev",
            "partner_id": "acme",
            "at": AT,
            "consecutive_failures": 400,
            "failing_since": datetime(2026, 11, 30, 9, tzinfo=UTC),
            "last_success_at": datetime(2026, 11, 30, 8, tzinfo=UTC),
            "last_error": "HTTP 503: http_status: <html>Service Unavailable & more</html>",
            "last_status_code": 503,
            "last_topic": "invoice.paid",
            **changes,
        }
    )


def text_of(payload: dict[str, object]) -> str:
    return json.dumps(payload)


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_kind_is_valid_block_kit(kind: NoticeKind) -> None:
    # GIVEN a notice of each kind (a paused one with its command), WHEN built, THEN slack-sdk accepts it
    resume = resume_command("dev", "acme") if kind is NoticeKind.PAUSED else None
    ev.assert_valid_block_kit(health_message(notice(kind, reason="failing", resume_command=resume)))


def test_the_paused_message_carries_topic_error_and_resume_command() -> None:
    payload = health_message(
        notice(NoticeKind.PAUSED, reason="failing", resume_command=resume_command("dev", "acme"))
    )
    attachment = payload["attachments"][0]  # type: ignore[index]
    blocks = attachment["blocks"]
    assert payload["text"] == "Partner acme is paused (dev)"
    assert attachment["color"] == "#D62828"
    assert blocks[0]["text"]["text"] == ":double_vertical_bar: Partner acme is paused (dev)"
    assert "400 failed attempts in a row" in blocks[1]["text"]["text"]
    fields = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in blocks[2]["fields"]}
    assert fields["*Last failed webhook's topic*"] == "invoice.paid"
    assert fields["*Last status*"] == "503"
    # the error excerpt is escaped for mrkdwn, the command is the one that resumes this partner
    assert "&lt;html&gt;Service Unavailable &amp; more&lt;/html&gt;" in blocks[3]["text"]["text"]
    assert "POST /partners/acme/enable" in blocks[4]["text"]["text"]
    assert "hookrelay-provisioner-dev-enable" in blocks[4]["text"]["text"]


def test_failing_and_recovered_messages() -> None:
    failing = health_message(notice(NoticeKind.FAILING, consecutive_failures=10))
    assert failing["text"] == "Partner acme is failing (dev)"
    assert failing["attachments"][0]["color"] == "#ECB22E"  # type: ignore[index]
    recovered = health_message(notice(NoticeKind.RECOVERED, consecutive_failures=0))
    assert recovered["text"] == "Partner acme has recovered (dev)"
    # a recovery does not repeat the last error
    assert "Service Unavailable" not in text_of(recovered)


def test_a_notice_never_carries_a_secret() -> None:
    # GIVEN an attempt error that quotes a signing secret and a bearer token
    leaky = "HTTP 401: rejected whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw with Authorization: Bearer abc.def"
    built = notice(NoticeKind.PAUSED, last_error=leaky)
    # THEN the notice (and so the message) holds neither
    assert built.last_error is not None
    assert "whsec_" not in built.last_error
    assert "abc.def" not in built.last_error
    assert "whsec_" not in text_of(health_message(built))
    assert scrub("x" * 1000) == "x" * 300


def test_the_notice_round_trips_through_sns_and_an_alarm_is_not_a_notice() -> None:
    built = notice(NoticeKind.PAUSED, reason="gone")
    assert parse_health_notice(built.model_dump_json()) == built
    assert parse_health_notice(ev.raw(ev.SINGLE_METRIC)) is None
    assert parse_health_notice('{"source": "hookrelay.partner-health"}') is None  # incomplete: not a notice
