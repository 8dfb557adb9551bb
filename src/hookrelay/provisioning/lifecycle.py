"""Create and delete a partner: every resource it owns, each step an idempotent "ensure".

create writes the partner as ``provisioning`` first, then ensures each resource in dependency order
(secret, queues, log group and its attempt-lines subscription to the stage's recorder, role, function,
concurrency, mapping, alarms) and marks it ``active``.
A failure part way leaves the partner ``provisioning`` with the reason in ``last_error``: running
create again finishes the job (nothing it made blocks it), and delete removes whatever exists.

Before anything is written, a new partner must fit the account's quotas
(:func:`hookrelay.provisioning.capacity.check_new_partner`: a 409 naming the quota otherwise); a create
that resumes a partner left ``provisioning`` was checked when it started, and what it made counts as used.
Each lookup is made once per create: the shared ARNs and the queue URLs are passed along, not re-read.
Reserved concurrency is set only when the partner asks for it; the mapping's ceiling is ``max_concurrency``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import BaseModel, SecretStr

from hookrelay import naming
from hookrelay.errors import Conflict, HookrelayError, NotFound
from hookrelay.partners.model import (
    Partner,
    PartnerCreate,
    PartnerStatus,
    function_timeout,
    pace_ceiling,
    visibility_timeout,
)
from hookrelay.partners.ordering import (
    all_queue_names,
    dead_letter_queue_name,
    max_receive_count,
    queue_name,
)
from hookrelay.provisioning.capacity import check_new_partner, partner_costs
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.events.subscriptions import subscribe, unsubscribe
from hookrelay.provisioning.resources.artifact import latest_artifact, prepare
from hookrelay.provisioning.resources.attempt_filter import ensure_attempt_filter
from hookrelay.provisioning.resources.function import (
    FunctionSpec,
    delete_function,
    ensure_function,
    set_concurrency,
)
from hookrelay.provisioning.resources.iam import Grants, delete_role, ensure_role, ensure_shared_role
from hookrelay.provisioning.resources.mapping import delete_mappings, ensure_mapping
from hookrelay.provisioning.resources.monitoring import (
    alarm_definitions,
    delete_alarms,
    delete_log_group,
    ensure_alarms,
    ensure_log_group,
)
from hookrelay.provisioning.resources.pacing_grant import grant_pacing
from hookrelay.provisioning.resources.queues import delete_queue, ensure_queues
from hookrelay.provisioning.resources.secrets import delete_secret, ensure_secret
from hookrelay.provisioning.resources.shared import shared_arns
from hookrelay.provisioning.resources.versions import go_live, target

logger = logging.getLogger(__name__)


class Created(BaseModel):
    partner: Partner
    secret: SecretStr


def create_partner(ctx: Provisioner, request: PartnerCreate) -> Created:
    """Create (or finish creating) a partner; the secret is returned here and nowhere else."""
    pid = request.partner_id
    existing = ctx.partners.find(pid)
    if existing is not None and existing.status is not PartnerStatus.PROVISIONING:
        raise Conflict(f"partner {pid!r} already exists: change it with PATCH, or delete it first")
    ctx.check_destination(request.url)
    if existing is None:
        check_new_partner(ctx, pid, request)
    now = ctx.clock()
    base = {"created_at": existing.created_at} if existing else {"created_at": now}
    partner = Partner.model_validate({**request.model_dump(), **base, "updated_at": now})
    ctx.partners.put(partner)
    try:
        secret, code_key = _provision(ctx, partner, now, fresh=existing is None)
    except HookrelayError as exc:
        ctx.partners.put(partner.touched(ctx.clock(), last_error=exc.message))
        logger.warning("create stopped part way", extra={"partner_id": pid, "error": exc.message})
        raise
    if existing is None:
        ctx.quotas.spent(roles=partner_costs(ctx.settings).roles, concurrency=partner.claimed_concurrency())
    previous = existing.event_types if existing else None  # issue 14: filed in the events router's index
    subscribe(ctx.stage, ctx.clients, partner, previous=previous)
    active = ctx.partners.put(
        partner.touched(
            ctx.clock(),
            status=PartnerStatus.ACTIVE,
            last_error=None,
            code_key=code_key,
            attempt_filter_at=now,  # its log group is subscribed (a rollout need not do it)
        )
    )
    logger.info("partner created", extra={"partner_id": pid})
    return Created(partner=active, secret=secret)


def _provision(ctx: Provisioner, partner: Partner, now: datetime, fresh: bool) -> tuple[SecretStr, str]:
    """Ensure every resource; ``fresh``: the partner's first create (no alias or mapping exists yet)."""
    s, pid, clients = ctx.settings, partner.partner_id, ctx.clients
    tags = s.tags(pid)
    shared = shared_arns(s.stage, clients)
    recorder = ctx.recorder_arn  # before anything is made: no recorder, no partner whose records it loses
    # before anything is made: nothing to run is no start (the layer is published once per build)
    artifact = prepare(latest_artifact(s.bucket, clients), s.stage, clients, s.keep_layer_versions)
    secret = ensure_secret(naming.partner_secret(s.stage, pid), tags, now, clients)
    queues = ensure_queues(
        queue_name(s.stage, pid, partner.ordering),
        dead_letter_queue_name(s.stage, pid, partner.ordering),
        visibility_timeout(partner),
        max_receive_count(partner.ordering, s.max_receive_count),
        tags,
        clients,
    )
    log_group = naming.partner_log_group(s.stage, pid)
    log_group_arn = ensure_log_group(log_group, s.log_retention_days, tags, clients)
    ensure_attempt_filter(log_group, recorder, clients)  # its attempt lines reach the recorder
    grants = Grants(queues.arn, queues.dlq_arn, log_group_arn, secret.arn)  # no results queue (issue 15)
    role_arn = (
        ensure_role(naming.partner_role(s.stage, pid), grants, tags, clients)
        if s.handler_role == "per-partner"
        else ensure_shared_role(s.stage, shared.results_queue_arn, clients)
    )
    if pace_ceiling(partner) is not None:  # before the handler runs paced
        grant_pacing(s.stage, pid, s.handler_role == "shared", queues.arn, clients)
    function = naming.partner_function(s.stage, pid)
    spec = FunctionSpec(
        name=function,
        role_arn=role_arn,
        bucket=s.bucket,
        code_key=artifact.code_key,
        layers=artifact.layers,
        timeout=function_timeout(partner),
        environment=ctx.handler_environment(
            pid, partner, shared, (queues.url, queues.dlq_url), secret.version
        ),
        runtime=s.handler_runtime,
        memory_mb=s.handler_memory_mb,
        tags=tags,
    )
    ensure_function(spec, clients, attempts=s.role_propagation_attempts)
    if partner.reserved_concurrency is not None:
        set_concurrency(function, partner.reserved_concurrency, clients)
    # the mapping's target: the function's live alias, on a version published now
    live = go_live(function, clients, s.keep_versions, partner.provisioned_concurrency, fresh=fresh)
    ensure_mapping(live, queues.arn, partner.max_concurrency, clients, s.role_propagation_attempts)
    if s.alarms_of(pid):  # every partner is under the stage alarms; a few critical ones have their own too
        alarms = alarm_definitions(
            s.stage, pid, s.oldest_message_alarm_seconds, shared.alarm_topic_arn, partner.ordering
        )
        ensure_alarms(alarms, tags, clients)
    return secret.newest, artifact.code_key


class Deleted(BaseModel):
    partner_id: str
    removed: list[str]


def delete_partner(ctx: Provisioner, partner_id: str) -> Deleted:
    """Tear down in dependency order; safe to repeat. NotFound only when nothing at all existed."""
    stage, clients, pid = ctx.stage, ctx.clients, partner_id
    unsubscribe(stage, clients, ctx.partners.find(pid))  # issue 14: the events router stops routing to it
    function = naming.partner_function(stage, pid)
    mappings = delete_mappings(target(function), clients) + delete_mappings(
        function, clients
    )  # pre-alias too
    removed = [f"event-source-mapping:{function}"] * mappings
    if delete_function(function, clients):
        removed.append(f"function:{function}")
    removed += [f"alarm:{name}" for name in delete_alarms(stage, pid, clients)]
    log_group = naming.partner_log_group(stage, pid)
    if delete_log_group(log_group, clients):  # its attempt-lines subscription filter goes with it
        removed.append(f"log-group:{log_group}")
    role = naming.partner_role(stage, pid)  # its own role, if it had one; never the stage's shared role
    if delete_role(role, clients):
        removed.append(f"role:{role}")
    for queue in all_queue_names(stage, pid):
        if delete_queue(queue, clients):
            removed.append(f"queue:{queue}")
    secret = naming.partner_secret(stage, pid)
    if delete_secret(secret, clients):
        removed.append(f"secret:{secret}")
    if ctx.partners.delete(pid):
        removed.append(f"partner:{pid}")
    if not removed:
        raise NotFound(f"partner {pid!r} does not exist")
    logger.info("partner deleted", extra={"partner_id": pid, "removed": removed})
    return Deleted(partner_id=pid, removed=removed)
