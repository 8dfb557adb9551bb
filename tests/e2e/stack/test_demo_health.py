"""`make demo`'s health scene on the local stack: a partner goes dark, is paused (mapping disabled, every
webhook kept), the paused notice reaches the alarm topic as valid Block Kit, the partner is resumed, every
webhook is delivered and the recovery is told."""

from __future__ import annotations

import pytest

from hookrelay.alarms.health_message import health_message
from hookrelay.health_notice import NoticeKind
from hookrelay_local import demo_health
from hookrelay_local.stack import LocalStack, StackOptions
from tests.support import alarm_events as ev

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]


def test_a_dark_partner_is_paused_told_resumed_and_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the local stack, and a spy on the notices the scene reads from the alarm topic
    told: list[demo_health.HealthNotice] = []
    notices = demo_health.NoticeSpy.notices

    def spied(self: demo_health.NoticeSpy) -> list[demo_health.HealthNotice]:
        seen = notices(self)
        told[:] = seen
        return seen

    monkeypatch.setattr(demo_health.NoticeSpy, "notices", spied)
    said: list[str] = []
    options = StackOptions(aws_port=0, api_port=0, receiver_port=0, stage="dhealth")
    # WHEN the scene plays with 10 webhooks
    with LocalStack(options) as stack:
        partner = demo_health.run_health_scene(stack, said.append, events=10)
        state = stack.client("dynamodb").get_item(
            TableName="hookrelay-dhealth-partners", Key={"partner_id": {"S": "dark"}}
        )["Item"]
    partner.server.stop()
    # THEN the endpoint refused while dark, every webhook was delivered after the resume, none lost
    assert partner.refused >= demo_health.PAUSE_AFTER_FAILURES
    assert partner.delivered() == len(partner.published) == 10
    # AND the alarm topic got paused, then recovered, each valid Block Kit
    assert [n.kind for n in told] == [NoticeKind.PAUSED, NoticeKind.RECOVERED]
    for notice in told:
        ev.assert_valid_block_kit(health_message(notice))
    assert told[0].last_error is not None
    assert told[0].last_topic == "invoice.paid"
    # AND the partner is active again
    assert state["status"] == {"S": "active"}
    assert any("paused after" in line for line in said)
