"""A partner's live state: queue and DLQ depth, mapping state and ceiling, the function's code, last outcome.

``mapping_max_concurrency`` is what AWS holds (the mapping's ``ScalingConfig.MaximumConcurrency``), to
compare with the partner's ``max_concurrency``; read from the mapping already fetched, no extra call. The
partner's document, health counters and pacing state are one read of its item.
"""

from __future__ import annotations

from pydantic import BaseModel

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog, list_deliveries
from hookrelay.errors import NotFound
from hookrelay.models import AttemptRecord
from hookrelay.partners.health_store import state_of
from hookrelay.partners.model import Partner
from hookrelay.partners.ordering import dead_letter_queue_name, queue_name
from hookrelay.partners.pace_store import pace_state_of
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.health.view import HealthView, health_view
from hookrelay.provisioning.pacing_view import PacingView, pacing_view
from hookrelay.provisioning.resources.function import describe_function
from hookrelay.provisioning.resources.mapping import find_mapping
from hookrelay.provisioning.resources.queues import depths
from hookrelay.provisioning.resources.versions import target


class FunctionState(BaseModel):
    name: str
    version: str
    code_sha256: str
    last_modified: str
    state: str | None = None


class PartnerState(BaseModel):
    partner: Partner
    queue: dict[str, int] | None
    dead_letter_queue: dict[str, int] | None
    mapping_state: str | None
    mapping_max_concurrency: int | None = None
    function: FunctionState | None
    last_delivery: AttemptRecord | None
    pacing: PacingView | None = None
    health: HealthView | None = None


def partner_status(ctx: Provisioner, partner_id: str, log: AttemptLog) -> PartnerState:
    """Everything an operator looks at first; a missing resource shows as null, not an error."""
    item = ctx.partners.find_item(partner_id)  # one read: the document, health and pacing attributes
    if item is None:
        raise NotFound(f"partner {partner_id!r} does not exist")
    partner = Partner.model_validate_json(item["doc"]["S"])
    stage, clients = ctx.stage, ctx.clients
    name = naming.partner_function(stage, partner_id)
    found = describe_function(target(name), clients) or describe_function(
        name, clients
    )  # live (or pre-alias)
    function = None
    if found is not None:
        function = FunctionState(
            name=name,
            version=str(found.get("Version", "$LATEST")),
            code_sha256=str(found.get("CodeSha256", "")),
            last_modified=str(found.get("LastModified", "")),
            state=found.get("State"),
        )
    mapping = find_mapping(target(name), None, clients) or find_mapping(name, None, clients)
    latest = list_deliveries(log, partner_id, limit=1).items
    return PartnerState(
        partner=partner,
        queue=depths(queue_name(stage, partner_id, partner.ordering), clients),
        dead_letter_queue=depths(dead_letter_queue_name(stage, partner_id, partner.ordering), clients),
        mapping_state=None if mapping is None else str(mapping.get("State")),
        mapping_max_concurrency=(mapping or {}).get("ScalingConfig", {}).get("MaximumConcurrency"),
        function=function,
        last_delivery=latest[0] if latest else None,
        pacing=pacing_view(partner, pace_state_of(item)),
        health=health_view(ctx, partner, state_of(item)),
    )
