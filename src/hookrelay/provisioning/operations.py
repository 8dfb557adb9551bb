"""THE table of the provisioner's operations: one entry each drives its REST route, its Lambda function
(``app.<name>``), :class:`hookrelay.provisioning.api.Api`'s dispatch and the OpenAPI document.

An entry names the operation, its method and path (``{id}`` is the partner id), the request model its
body is parsed into (or none: the body is ignored), the answer model, the success status, the error
statuses it may answer, and ``run``: a few lines from the parsed :class:`Call` to the core function.
Adding an operation is one entry here plus its core function.
"""

from __future__ import annotations

from pydantic import BaseModel

from hookrelay.attempts.log import AttemptLog, DeliveryPage, list_deliveries
from hookrelay.partners.model import Partner, PartnerCreate
from hookrelay.partners.table import PartnerPage
from hookrelay.partners.update import PartnerUpdate
from hookrelay.provisioning.capacity import Capacity, capacity
from hookrelay.provisioning.changes import (
    disable_partner,
    enable_partner,
    rotate_partner_secret,
    update_partner,
)
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.events.feed import EventFeed
from hookrelay.provisioning.events.model import BatchAnswer, BatchRequest, EventAccepted, EventRequest
from hookrelay.provisioning.lifecycle import Deleted, create_partner, delete_partner
from hookrelay.provisioning.message_ops import get_webhook, replay, replay_progress, resend_webhook
from hookrelay.provisioning.messages.model import (
    ReplayRequest,
    ReplayStarted,
    ReplayState,
    Resent,
    WebhookView,
)
from hookrelay.provisioning.operation import (
    COMMON_ERRORS,
    PARTNER_ERRORS,
    Call,
    Operation,
    QueryParameter,
    page_limit,
)
from hookrelay.provisioning.portal_link import PortalLink, PortalLinkRequest, portal_link
from hookrelay.provisioning.publish import Published, PublishRequest
from hookrelay.provisioning.redrive import Redriven, RedriveRequest, redrive
from hookrelay.provisioning.rollouts.control import (
    continue_rollout,
    rollback_rollout,
    rollout_state,
    start_rollout,
)
from hookrelay.provisioning.rollouts.model import RolloutRequest, RolloutState
from hookrelay.provisioning.status import PartnerState, partner_status


class PartnerCreated(Partner):
    secret: str


class SecretRotated(BaseModel):
    partner_id: str
    secret: str
    previous_expires_at: str


class DisableRequest(BaseModel):
    purge: bool = False


def _create(ctx: Provisioner, call: Call) -> BaseModel:
    created = create_partner(ctx, call.parsed(PartnerCreate))
    secret = created.secret.get_secret_value()
    return PartnerCreated(**created.partner.model_dump(), secret=secret)


def _rotate(ctx: Provisioner, call: Call) -> BaseModel:
    rotated = rotate_partner_secret(ctx, call.partner_id)
    return SecretRotated(**{**rotated.model_dump(), "secret": rotated.secret.get_secret_value()})


def _deliveries(ctx: Provisioner, call: Call) -> DeliveryPage:
    ctx.partners.get(call.partner_id)
    limit = page_limit(call.query.get("limit"))
    return list_deliveries(
        AttemptLog(ctx.stage, clients=ctx.clients), call.partner_id, limit, call.query.get("cursor")
    )


def _partners(ctx: Provisioner, call: Call) -> PartnerPage:
    return ctx.partners.page(page_limit(call.query.get("limit")), call.query.get("cursor"))


def _publish(ctx: Provisioner, call: Call) -> BaseModel:
    return ctx.publisher.publish(call.partner_id, call.parsed(PublishRequest))


def _feed(ctx: Provisioner) -> EventFeed:
    return EventFeed(ctx.stage, ctx.clients, ctx.settings.max_event_bytes)


def _rollout(ctx: Provisioner, call: Call) -> BaseModel:
    return rollout_state(ctx, call.partner_id, call.query, page_limit(call.query.get("limit")))


PAGE = (
    QueryParameter("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
    QueryParameter("cursor", {"type": "string"}),
)
OUTCOME = QueryParameter("outcome", {"type": "string", "enum": ["succeeded", "failed", "skipped"]})
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "create", "POST", "/partners", "Create a partner (returns its secret, once)", PartnerCreated, _create,
        request=PartnerCreate, status=201, body_required=True, errors=(*COMMON_ERRORS, 409),
    ),
    Operation(
        "list_partners", "GET", "/partners", "List partners, a page at a time (pass next_cursor back)",
        PartnerPage, _partners, errors=COMMON_ERRORS, query=PAGE,
    ),
    Operation(
        "status", "GET", "/partners/{id}", "A partner and its live status", PartnerState,
        lambda ctx, call: partner_status(ctx, call.partner_id, AttemptLog(ctx.stage, clients=ctx.clients)),
    ),
    Operation(
        "update", "PATCH", "/partners/{id}", "Change delivery options", Partner,
        lambda ctx, call: update_partner(ctx, call.partner_id, call.parsed(PartnerUpdate)),
        request=PartnerUpdate,
    ),
    Operation(
        "delete", "DELETE", "/partners/{id}", "Delete a partner and everything it owns", Deleted,
        lambda ctx, call: delete_partner(ctx, call.partner_id),
    ),
    Operation(
        "disable", "POST", "/partners/{id}/disable", "Stop delivering, keep messages", Partner,
        lambda ctx, call: disable_partner(ctx, call.partner_id, call.parsed(DisableRequest).purge),
        request=DisableRequest,
    ),
    Operation(
        "enable", "POST", "/partners/{id}/enable", "Resume delivering (disabled or paused)", Partner,
        lambda ctx, call: enable_partner(ctx, call.partner_id),
    ),
    Operation(
        "rotate_secret", "POST", "/partners/{id}/rotate-secret",
        "New secret; the old signs for a grace period", SecretRotated, _rotate,
    ),
    Operation(
        "publish", "POST", "/partners/{id}/events", "Publish an event to the partner", Published, _publish,
        request=PublishRequest, status=202, body_limit=True, errors=(*PARTNER_ERRORS, 413, 422),
        duplicates=True,
    ),
    Operation(
        "deliveries", "GET", "/partners/{id}/deliveries", "Delivery attempts, newest first", DeliveryPage,
        _deliveries, query=PAGE,
    ),
    Operation(
        "update_code", "POST", "/update-code", "Start moving handlers to the newest artifact (a rollout)",
        RolloutState, lambda ctx, call: start_rollout(ctx, call.parsed(RolloutRequest)),
        request=RolloutRequest, status=202, errors=(*COMMON_ERRORS, 404),
    ),
    Operation(
        "rollout", "GET", "/rollouts/{id}", "A rollout's progress and a page of per-partner results",
        RolloutState, _rollout, query=(*PAGE, OUTCOME),
    ),
    Operation(
        "continue_rollout", "POST", "/rollouts/{id}/continue", "Roll out past a canary", RolloutState,
        lambda ctx, call: continue_rollout(ctx, call.partner_id),
    ),
    Operation(
        "rollback", "POST", "/rollouts/{id}/rollback",
        "Start a rollout moving live back to the versions that rollout replaced", RolloutState,
        lambda ctx, call: rollback_rollout(ctx, call.partner_id), status=202,
    ),
    Operation(
        "get_webhook", "GET", "/partners/{id}/webhooks/{webhook_id}",
        "A kept webhook and every attempt (status, duration, response excerpt, outcome)", WebhookView,
        lambda ctx, call: get_webhook(ctx, call.partner_id, call.path["webhook_id"]),
        errors=(*PARTNER_ERRORS, 410),
    ),
    Operation(
        "resend", "POST", "/partners/{id}/webhooks/{webhook_id}/resend",
        "Deliver a kept webhook again (same webhook-id, a fresh attempt count)", Resent,
        lambda ctx, call: resend_webhook(ctx, call.partner_id, call.path["webhook_id"]),
        status=202, errors=(*PARTNER_ERRORS, 410),
    ),
    Operation(
        "replay", "POST", "/partners/{id}/replay",
        "Enqueue the kept webhooks of a time range again (at most 7 days), in the background", ReplayStarted,
        lambda ctx, call: replay(ctx, call.partner_id, call.parsed(ReplayRequest)),
        request=ReplayRequest, status=202, body_required=True,
    ),
    Operation(
        "replay_state", "GET", "/partners/{id}/replays/{replay_id}", "A replay's progress", ReplayState,
        lambda ctx, call: replay_progress(ctx, call.partner_id, call.path["replay_id"]),
    ),
    Operation(
        "capacity", "GET", "/capacity", "The account's quotas: used, limit, per partner, partners that fit",
        Capacity, lambda ctx, call: capacity(ctx), errors=COMMON_ERRORS,
    ),
    Operation(
        "portal_link", "POST", "/partners/{id}/portal-link",
        "A signed, expiring URL of the partner's portal (its own deliveries; docs/console.md)", PortalLink,
        lambda ctx, call: portal_link(ctx, call.partner_id, call.parsed(PortalLinkRequest)),
        request=PortalLinkRequest,
    ),
    Operation(
        "redrive", "POST", "/partners/{id}/redrive",
        "Move dead letters back to the partner queue, each with a fresh attempt count", Redriven,
        lambda ctx, call: redrive(ctx, call.partner_id, call.parsed(RedriveRequest)), request=RedriveRequest,
    ),
    Operation(
        "publish_event", "POST", "/events", "Publish an event once to every partner subscribed to its topic",
        EventAccepted, lambda ctx, call: _feed(ctx).publish(call.parsed(EventRequest)),
        request=EventRequest, status=202, body_limit=True, body_required=True, duplicates=True,
        errors=(*COMMON_ERRORS, 409, 413),
    ),
    Operation(
        "publish_events", "POST", "/events/batch", "Publish up to 100 events; each answered on its own",
        BatchAnswer, lambda ctx, call: _feed(ctx).publish_batch(call.parsed(BatchRequest)),
        request=BatchRequest, body_required=True, errors=COMMON_ERRORS,
    ),
)  # fmt: skip
BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}
