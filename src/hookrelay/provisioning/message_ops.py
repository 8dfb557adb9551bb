"""The message store's operations on the provisioner's context: GET a webhook, resend, replay, and the
replay worker's entry (``hookrelay.provisioning.messages`` never imports the context: this module wires it).
"""

from __future__ import annotations

import re
from typing import Any

from hookrelay.attempts.log import AttemptLog
from hookrelay.errors import InvalidInput
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.messages.model import (
    ReplayRequest,
    ReplayStarted,
    ReplayState,
    Resent,
    WebhookView,
)
from hookrelay.provisioning.messages.replay import Replayer, start_replay, work
from hookrelay.provisioning.messages.replays import REPLAY_ID_PATTERN, ReplayStore
from hookrelay.provisioning.messages.view import resend, webhook_view


def replayer(ctx: Provisioner) -> Replayer:
    s = ctx.settings
    return Replayer(
        store=ctx.messages,
        replays=ReplayStore(ctx.stage, ctx.clients),
        publisher=ctx.publisher,
        clock=ctx.clock,
        chunk_size=s.replay_chunk_size,
        delay_seconds=s.replay_delay_seconds,
    )


def get_webhook(ctx: Provisioner, partner_id: str, webhook_id: str) -> WebhookView:
    ctx.partners.get(partner_id)  # an unknown partner is a 404 of its own
    log = AttemptLog(ctx.stage, ttl_days=ctx.settings.deliveries_ttl_days, clients=ctx.clients)
    return webhook_view(ctx.messages, log, partner_id, webhook_id)


def resend_webhook(ctx: Provisioner, partner_id: str, webhook_id: str) -> Resent:
    partner = ctx.partners.get(partner_id)  # an unknown partner is a 404 of its own
    return resend(ctx.messages, ctx.publisher, partner_id, webhook_id, partner.ordering)


def replay(ctx: Provisioner, partner_id: str, request: ReplayRequest) -> ReplayStarted:
    ctx.partners.get(partner_id)
    return start_replay(replayer(ctx), partner_id, request)


def replay_progress(ctx: Provisioner, partner_id: str, replay_id: str) -> ReplayState:
    if not re.fullmatch(REPLAY_ID_PATTERN, replay_id):
        raise InvalidInput(f"replay id {replay_id[:60]!r} is not one POST /partners/{{id}}/replay returned")
    return ReplayStore(ctx.stage, ctx.clients).state(partner_id, replay_id)


def replay_worker(event: dict[str, Any], ctx: Provisioner) -> dict[str, list[dict[str, str]]]:
    """The replay queue's handler (provisioner app ``replay_worker``)."""
    return work(event, replayer(ctx))
