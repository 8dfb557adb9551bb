"""Carrying out what partner health decided: pause a partner, publish a notice to the stage's alarm topic.

A pause disables the partner's event source mapping (the path ``POST /partners/{id}/disable`` takes;
queued messages stay), then marks the partner ``paused`` with a write conditional on the document it
read: of two recorders pausing at once only one wins, and only the winner tells anyone.
"""

from __future__ import annotations

import logging
from datetime import datetime

from hookrelay import naming
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.health_notice import HealthNotice, NoticeKind, resume_command
from hookrelay.partners.health import HealthState
from hookrelay.partners.model import Partner, PartnerStatus
from hookrelay.partners.model import Pause as PauseRecord
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.resources.mapping import set_enabled
from hookrelay.provisioning.resources.versions import target

logger = logging.getLogger(__name__)
WRITE_TRIES = 3


def pause_partner(
    ctx: Provisioner, partner: Partner, reason: str, state: HealthState, now: datetime
) -> Partner | None:
    """Stop delivering to ``partner`` and mark it paused; None when another writer paused, disabled or
    deleted it first (then this caller tells no one)."""
    pid = partner.partner_id
    record = PauseRecord(
        reason=reason,
        paused_at=now,
        consecutive_failures=state.consecutive_failures,
        last_error=state.last_error,
        last_topic=state.last_topic,
    )
    current: Partner | None = partner
    for _ in range(WRITE_TRIES):  # an operator's update meanwhile changes the document: read it again
        if current is None or current.status is not PartnerStatus.ACTIVE:
            return None
        set_enabled(target(naming.partner_function(ctx.stage, pid)), False, ctx.clients)
        paused = current.touched(now, status=PartnerStatus.PAUSED, pause=record)
        if ctx.partners.replace(current, paused):
            logger.warning(
                "partner paused",
                extra={"partner_id": pid, "reason": reason, "failures": state.consecutive_failures},
            )
            return paused
        current = ctx.partners.find(pid)
    logger.warning("partner kept changing; not paused", extra={"partner_id": pid})
    return None


def notice_of(
    ctx: Provisioner,
    kind: NoticeKind,
    partner_id: str,
    state: HealthState,
    now: datetime,
    reason: str | None = None,
) -> HealthNotice:
    return HealthNotice(
        kind=kind,
        stage=ctx.stage,
        partner_id=partner_id,
        at=now,
        reason=reason,
        consecutive_failures=state.consecutive_failures,
        failing_since=state.failing_since,
        last_success_at=state.last_success_at,
        last_error=state.last_error,
        last_status_code=state.last_status_code,
        last_topic=state.last_topic,
        resume_command=resume_command(ctx.stage, partner_id) if kind is NoticeKind.PAUSED else None,
    )


def publish_notice(ctx: Provisioner, notice: HealthNotice) -> None:
    """Publish ``notice`` to the stage's alarm topic (alarm-to-slack posts it)."""
    try:
        topic = ctx.clients.sns.create_topic(Name=naming.alarm_topic(ctx.stage))["TopicArn"]  # idempotent
        ctx.clients.sns.publish(TopicArn=topic, Message=notice.model_dump_json(), Subject=notice.subject)
    except AWS_ERRORS as exc:
        raise aws_error(f"publish a health notice of {notice.partner_id}", exc) from exc
    logger.info("health notice published", extra={"partner_id": notice.partner_id, "kind": notice.kind.value})
