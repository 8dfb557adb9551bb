"""Changes to a live partner: disable, enable, update its delivery options, rotate its secret.

An update that raises what the partner claims of the account's concurrency (reserved or provisioned)
is checked first (:func:`hookrelay.provisioning.capacity.check_concurrency`, 409 when it would leave
under 100 unreserved); the reservation is written only when it changes (null: released).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from pydantic import BaseModel, SecretStr, ValidationError

from hookrelay import naming
from hookrelay.errors import Conflict, InvalidInput, validation_message
from hookrelay.partners.model import (
    DeliveryOptions,
    Partner,
    PartnerStatus,
    PartnerUpdate,
    function_timeout,
    pace_ceiling,
    visibility_timeout,
)
from hookrelay.provisioning.capacity import check_concurrency
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.resources.function import reconfigure, set_concurrency
from hookrelay.provisioning.resources.mapping import ensure_mapping, set_enabled
from hookrelay.provisioning.resources.pacing_grant import grant_pacing
from hookrelay.provisioning.resources.queues import find_queue_url, purge, queue_arn, set_visibility
from hookrelay.provisioning.resources.secrets import rotate_secret
from hookrelay.provisioning.resources.versions import go_live, target

logger = logging.getLogger(__name__)


def _live(ctx: Provisioner, partner_id: str) -> Partner:
    partner = ctx.partners.get(partner_id)
    if partner.status is PartnerStatus.PROVISIONING:
        raise Conflict(
            f"partner {partner_id!r} is not fully created ({partner.last_error}): run create again"
        )
    return partner


def disable_partner(ctx: Provisioner, partner_id: str, purge_queue: bool = False) -> Partner:
    """Stop delivering: the mapping is disabled, queued messages stay (unless ``purge_queue``)."""
    partner = _live(ctx, partner_id)
    set_enabled(target(naming.partner_function(ctx.stage, partner_id)), False, ctx.clients)
    if purge_queue:
        url = find_queue_url(naming.partner_queue(ctx.stage, partner_id), ctx.clients)
        if url is not None:
            purge(url, ctx.clients)
    logger.info("partner disabled", extra={"partner_id": partner_id, "purged": purge_queue})
    return ctx.partners.put(partner.touched(ctx.clock(), status=PartnerStatus.DISABLED))


def enable_partner(ctx: Provisioner, partner_id: str) -> Partner:
    partner = _live(ctx, partner_id)
    set_enabled(target(naming.partner_function(ctx.stage, partner_id)), True, ctx.clients)
    logger.info("partner enabled", extra={"partner_id": partner_id})
    return ctx.partners.put(partner.touched(ctx.clock(), status=PartnerStatus.ACTIVE, gone_at=None))


def update_partner(ctx: Provisioner, partner_id: str, update: PartnerUpdate) -> Partner:
    """Apply new options to the live function, its concurrency, its mapping and its queue.

    An update that changes nothing (``{}``, or every value equal to the current one) is a no-op: the
    partner comes back unchanged and no AWS resource is written."""
    partner = _live(ctx, partner_id)
    changes = update.changes()
    try:
        options = DeliveryOptions.model_validate({**partner.options().model_dump(), **changes})
    except ValidationError as exc:
        raise InvalidInput(f"invalid update: {validation_message(exc, limit=1)}") from exc
    if options == partner.options():
        logger.info("partner update changes nothing", extra={"partner_id": partner_id})
        return partner
    if "url" in changes:
        ctx.check_destination(options.url)
    claimed = options.claimed_concurrency() - partner.claimed_concurrency()
    check_concurrency(ctx, partner_id, claimed)
    stage, clients = ctx.stage, ctx.clients
    function = naming.partner_function(stage, partner_id)
    queue_url = find_queue_url(naming.partner_queue(stage, partner_id), clients)
    if queue_url is None:
        raise Conflict(f"the queue of partner {partner_id!r} is missing: run create again")
    old_visibility, new_visibility = visibility_timeout(partner), visibility_timeout(options)
    if new_visibility > old_visibility:  # the queue must always outlast the function's timeout
        set_visibility(queue_url, new_visibility, clients)
    if pace_ceiling(options) is not None and pace_ceiling(partner) is None:  # paced from now on
        shared_role = ctx.settings.handler_role == "shared"
        grant_pacing(stage, partner_id, shared_role, queue_arn(queue_url, clients), clients)
    reconfigure(function, function_timeout(options), ctx.handler_environment(partner_id, options), clients)
    if options.reserved_concurrency != partner.reserved_concurrency:
        set_concurrency(function, options.reserved_concurrency, clients)
    # the new environment goes live: a version published, the live alias moved (and its warm instances)
    keep, provisioned = ctx.settings.keep_versions, options.provisioned_concurrency
    live = go_live(function, clients, keep, provisioned, partner.provisioned_concurrency)
    ensure_mapping(live, queue_arn(queue_url, clients), options.max_concurrency, clients)
    if new_visibility < old_visibility:
        set_visibility(queue_url, new_visibility, clients)
    ctx.quotas.spent(concurrency=claimed)
    updated = partner.touched(ctx.clock(), **options.model_dump())
    logger.info("partner updated", extra={"partner_id": partner_id, "changed": sorted(changes)})
    return ctx.partners.put(updated)


class Rotated(BaseModel):
    partner_id: str
    secret: SecretStr
    previous_expires_at: str


def rotate_partner_secret(ctx: Provisioner, partner_id: str) -> Rotated:
    """A new secret, returned once; the previous ones keep signing for the grace period."""
    _live(ctx, partner_id)
    now = ctx.clock()
    grace = timedelta(hours=ctx.settings.rotation_grace_hours)
    secret = rotate_secret(naming.partner_secret(ctx.stage, partner_id), now, grace, ctx.clients)
    logger.info("secret rotated", extra={"partner_id": partner_id})
    return Rotated(partner_id=partner_id, secret=secret, previous_expires_at=(now + grace).isoformat())
