"""Changes to a live partner: disable, enable, update its delivery options, rotate its secret.

An update and a rotation change the handler's environment the same way (:func:`publish_environment`).

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
from hookrelay.partners.health_store import HealthStore
from hookrelay.partners.model import (
    DeliveryOptions,
    Partner,
    PartnerStatus,
    function_timeout,
    pace_ceiling,
    visibility_timeout,
)
from hookrelay.partners.ordering import migration_hint, queue_name
from hookrelay.partners.update import HEALTH_OPTIONS, PartnerUpdate
from hookrelay.provisioning.capacity import check_concurrency
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.events.subscriptions import subscribe
from hookrelay.provisioning.lease import change_lease
from hookrelay.provisioning.resources.function import reconfigure, set_concurrency, wait_until_ready
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
        url = find_queue_url(queue_name(ctx.stage, partner_id, partner.ordering), ctx.clients)
        if url is not None:
            purge(url, ctx.clients)
    logger.info("partner disabled", extra={"partner_id": partner_id, "purged": purge_queue})
    return ctx.partners.put(partner.touched(ctx.clock(), status=PartnerStatus.DISABLED))


def enable_partner(ctx: Provisioner, partner_id: str) -> Partner:
    """Deliver again (a disabled or a paused partner), from a fresh failure streak."""
    partner = _live(ctx, partner_id)
    set_enabled(target(naming.partner_function(ctx.stage, partner_id)), True, ctx.clients)
    logger.info("partner enabled", extra={"partner_id": partner_id})
    HealthStore(ctx.partners.table, ctx.clients).restart(partner_id)
    resumed: dict[str, object] = {}
    if partner.status is PartnerStatus.PAUSED:
        resumed = {"pause": None, "resumed_at": ctx.clock()}
    return ctx.partners.put(
        partner.touched(ctx.clock(), status=PartnerStatus.ACTIVE, gone_at=None, **resumed)
    )


def publish_environment(
    ctx: Provisioner,
    partner_id: str,
    options: DeliveryOptions,
    provisioned_before: int | None,
    key_version: str | None = None,
) -> str:
    """THE path of a change to a handler's environment (update, rotate): the function reconfigured
    (timeout and environment), a version published, ``live`` moved (and its provisioned instances, if
    they changed); returns the mapping's target. Lambda runs a new version in new execution
    environments: the handlers invoked after this returns start afresh (settings, key cache).

    Lambda control-plane calls: UpdateFunctionConfiguration, PublishVersion, UpdateAlias, one
    DeleteFunction (pruning), ListEventSourceMappings; plus GetFunction waits (their own quota)."""
    function = naming.partner_function(ctx.stage, partner_id)
    environment = ctx.handler_environment(partner_id, options, key_version=key_version)
    reconfigure(function, function_timeout(options), environment, ctx.clients)
    wait_until_ready(function, ctx.clients)  # Lambda refuses to publish while the update is in progress
    keep, provisioned = ctx.settings.keep_versions, options.provisioned_concurrency
    return go_live(function, ctx.clients, keep, provisioned, provisioned_before)


def update_partner(ctx: Provisioner, partner_id: str, update: PartnerUpdate) -> Partner:
    """Apply new options to the live function, its concurrency, its mapping and its queue.

    An update that changes nothing (``{}``, or every value equal to the current one) is a no-op: the
    partner comes back unchanged and no AWS resource is written. Any other update holds the partner's
    change lease (:mod:`hookrelay.provisioning.lease`): a rotation or update meanwhile is 409."""
    partner = _live(ctx, partner_id)
    if update.ordering is not None and update.ordering != partner.ordering:
        raise Conflict(migration_hint(partner_id, update.ordering))
    if _updated_options(partner, update) == partner.options():
        logger.info("partner update changes nothing", extra={"partner_id": partner_id})
        return partner
    with change_lease(ctx.partners.table, partner_id, ctx.clock(), ctx.clients, "update"):
        partner = _live(ctx, partner_id)  # read under the lease: the options as they are now
        if set(update.changes()) <= HEALTH_OPTIONS:  # the recorder reads these: no AWS resource changes
            updated = partner.touched(ctx.clock(), **_updated_options(partner, update).model_dump())
            logger.info("partner health thresholds updated", extra={"partner_id": partner_id})
            return ctx.partners.put(updated)
        return _apply(ctx, partner, _updated_options(partner, update), update.changes())


def _updated_options(partner: Partner, update: PartnerUpdate) -> DeliveryOptions:
    try:
        return DeliveryOptions.model_validate({**partner.options().model_dump(), **update.changes()})
    except ValidationError as exc:
        raise InvalidInput(f"invalid update: {validation_message(exc, limit=1)}") from exc


def _apply(
    ctx: Provisioner, partner: Partner, options: DeliveryOptions, changes: dict[str, object]
) -> Partner:
    partner_id = partner.partner_id
    if "url" in changes:
        ctx.check_destination(options.url)
    claimed = options.claimed_concurrency() - partner.claimed_concurrency()
    check_concurrency(ctx, partner_id, claimed)
    stage, clients = ctx.stage, ctx.clients
    function = naming.partner_function(stage, partner_id)
    queue_url = find_queue_url(queue_name(stage, partner_id, partner.ordering), clients)
    if queue_url is None:
        raise Conflict(f"the queue of partner {partner_id!r} is missing: run create again")
    old_visibility, new_visibility = visibility_timeout(partner), visibility_timeout(options)
    if new_visibility > old_visibility:  # the queue must always outlast the function's timeout
        set_visibility(queue_url, new_visibility, clients)
    if pace_ceiling(options) is not None and pace_ceiling(partner) is None:  # paced from now on
        shared_role = ctx.settings.handler_role == "shared"
        grant_pacing(stage, partner_id, shared_role, queue_arn(queue_url, clients), clients)
    if options.reserved_concurrency != partner.reserved_concurrency:
        set_concurrency(function, options.reserved_concurrency, clients)
    live = publish_environment(ctx, partner_id, options, partner.provisioned_concurrency)
    ensure_mapping(live, queue_arn(queue_url, clients), options.max_concurrency, clients)
    if new_visibility < old_visibility:
        set_visibility(queue_url, new_visibility, clients)
    ctx.quotas.spent(concurrency=claimed)
    updated = partner.touched(ctx.clock(), **options.model_dump())
    if "event_types" in changes:  # issue 14: refile in the events router's index before the document
        subscribe(stage, clients, updated, previous=partner.event_types)
    logger.info("partner updated", extra={"partner_id": partner_id, "changed": sorted(changes)})
    return ctx.partners.put(updated)


class Rotated(BaseModel):
    partner_id: str
    secret: SecretStr
    previous_expires_at: str


def rotate_partner_secret(ctx: Provisioner, partner_id: str) -> Rotated:
    """A new secret, returned once; the previous ones keep signing for the grace period.

    Immediate: once this answers, every delivery carries the old and the new signature. The secret's
    new version (its VersionId, the key version) is published in the handler's environment through
    :func:`publish_environment`, and only then does this answer: the mapping invokes ``live``, now a new
    version, whose fresh environments read the keys again. The residual window: a batch already
    running in an old environment when the alias moves finishes with the keys it read, so deliveries
    with the old signature alone can still leave for at most the function's timeout after the answer.

    One rotation of a partner at a time (:mod:`hookrelay.provisioning.lease`): a concurrent one is
    409 and stores nothing, so no caller is handed a secret that is then overwritten."""
    now = ctx.clock()
    grace = timedelta(hours=ctx.settings.rotation_grace_hours)
    with change_lease(ctx.partners.table, partner_id, now, ctx.clients, "rotation"):
        partner = _live(ctx, partner_id)  # read under the lease: the options as they are now
        written = rotate_secret(naming.partner_secret(ctx.stage, partner_id), now, grace, ctx.clients)
        options = partner.options()
        publish_environment(ctx, partner_id, options, options.provisioned_concurrency, written.version)
    logger.info("secret rotated", extra={"partner_id": partner_id, "key_version": written.version})
    expires = (now + grace).isoformat()
    return Rotated(partner_id=partner_id, secret=written.secret, previous_expires_at=expires)
