"""update-code: move partners' handlers to the newest artifact, one at a time, each reported.

Partners are updated sequentially with a pause between them (the Lambda control plane throttles
bursts, and a bad artifact then reaches one partner before it reaches all). A failure is recorded for
that partner and the rollout goes on: one failure never hides the others.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from hookrelay import naming
from hookrelay.errors import HookrelayError
from hookrelay.models import PartnerId
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.resources.artifact import ResolvedArtifact, latest_artifact, prepare
from hookrelay.provisioning.resources.function import update_code

logger = logging.getLogger(__name__)


class RolloutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_ids: list[PartnerId] | None = Field(default=None, description="default: every partner")


class PartnerRollout(BaseModel):
    partner_id: str
    ok: bool
    code_sha256: str | None = None
    error: str | None = None


class Rollout(BaseModel):
    code_key: str
    succeeded: int
    failed: int
    results: list[PartnerRollout]


def update_code_everywhere(ctx: Provisioner, request: RolloutRequest) -> Rollout:
    s = ctx.settings
    target = prepare(latest_artifact(s.bucket, ctx.clients), ctx.stage, ctx.clients, s.keep_layer_versions)
    key = target.code_key
    wanted = request.partner_ids
    ids = list(dict.fromkeys(wanted)) if wanted is not None else [p.partner_id for p in ctx.partners.all()]
    results: list[PartnerRollout] = []
    for index, partner_id in enumerate(ids):
        if index:
            ctx.clients.sleep(ctx.settings.rollout_pause_seconds)
        results.append(_update_one(ctx, partner_id, target))
    failed = sum(not r.ok for r in results)
    logger.info(
        "update-code done", extra={"code_key": key, "succeeded": len(results) - failed, "failed": failed}
    )
    return Rollout(code_key=key, succeeded=len(results) - failed, failed=failed, results=results)


def _update_one(ctx: Provisioner, partner_id: str, target: ResolvedArtifact) -> PartnerRollout:
    try:
        partner = ctx.partners.get(partner_id)
        sha = update_code(naming.partner_function(ctx.stage, partner_id), target, ctx.clients)
        ctx.partners.put(partner.touched(ctx.clock(), code_key=target.code_key))
    except HookrelayError as exc:
        logger.warning("update-code failed", extra={"partner_id": partner_id, "error": exc.message})
        return PartnerRollout(partner_id=partner_id, ok=False, error=exc.message)
    return PartnerRollout(partner_id=partner_id, ok=True, code_sha256=sha)
