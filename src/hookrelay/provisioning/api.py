"""The provisioner's API, independent of Chalice: raw input in, (status, JSON) out.

The REST routes and the per-operation Lambda functions both call these, so both parse the same
models and give the same answers. Every bad input becomes a :class:`hookrelay.errors.InvalidInput`
(or NotFound, Conflict, PayloadTooLarge) with a message; the app maps those to 4xx JSON.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hookrelay.attempts.log import AttemptLog, list_deliveries
from hookrelay.errors import HookrelayError, InvalidInput, validation_message
from hookrelay.models import PARTNER_ID_PATTERN
from hookrelay.partners.model import Partner, PartnerCreate, PartnerUpdate
from hookrelay.provisioning.changes import (
    disable_partner,
    enable_partner,
    rotate_partner_secret,
    update_partner,
)
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.lifecycle import create_partner, delete_partner
from hookrelay.provisioning.publish import PublishRequest, check_size, publish_event
from hookrelay.provisioning.rollout import RolloutRequest, update_code_everywhere
from hookrelay.provisioning.status import partner_status

M = TypeVar("M", bound=BaseModel)
Answer = tuple[int, dict[str, Any]]


logger = logging.getLogger(__name__)


class PartnerCreated(Partner):
    secret: str


class PartnerList(BaseModel):
    items: list[Partner]


class SecretRotated(BaseModel):
    partner_id: str
    secret: str
    previous_expires_at: str


class DisableRequest(BaseModel):
    purge: bool = False


class ErrorBody(BaseModel):
    error: str
    message: str


def parse(model: type[M], raw: str | bytes | None, **extra: Any) -> M:
    """Validate a JSON object body (empty means ``{}``) plus ``extra`` fields (path parameters)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw or ""
    try:
        body = json.loads(text.strip() or "{}")
    except ValueError as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    try:
        return model.model_validate({**body, **extra})
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc, limit=1)) from exc


def check_partner_id(partner_id: str) -> str:
    if not re.fullmatch(PARTNER_ID_PATTERN, partner_id):
        raise InvalidInput(f"partner id {partner_id!r} must be 1-32 of a-z, 0-9 and '-'")
    return partner_id


def error_answer(exc: HookrelayError) -> Answer:
    return exc.status_code, ErrorBody(error=exc.code, message=exc.message).model_dump()


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 100:
        raise InvalidInput("limit must be a whole number from 1 to 100")
    return int(raw)


class Api:
    """One method per operation; path parameters are checked here, bodies parsed into models."""

    def __init__(self, ctx: Provisioner) -> None:
        self.ctx = ctx
        self.log = AttemptLog(ctx.stage, ctx.settings.deliveries_ttl_days, ctx.clients)

    def create(self, raw: str | bytes | None) -> Answer:
        created = create_partner(self.ctx, parse(PartnerCreate, raw))
        secret = created.secret.get_secret_value()
        return 201, _dump(PartnerCreated(**created.partner.model_dump(), secret=secret))

    def list(self) -> Answer:
        return 200, _dump(PartnerList(items=list(self.ctx.partners.all())))

    def status(self, partner_id: str) -> Answer:
        return 200, _dump(partner_status(self.ctx, check_partner_id(partner_id), self.log))

    def update(self, partner_id: str, raw: str | bytes | None) -> Answer:
        update = parse(PartnerUpdate, raw)
        return 200, _dump(update_partner(self.ctx, check_partner_id(partner_id), update))

    def delete(self, partner_id: str) -> Answer:
        return 200, _dump(delete_partner(self.ctx, check_partner_id(partner_id)))

    def disable(self, partner_id: str, raw: str | bytes | None) -> Answer:
        purge = parse(DisableRequest, raw).purge
        return 200, _dump(disable_partner(self.ctx, check_partner_id(partner_id), purge_queue=purge))

    def enable(self, partner_id: str) -> Answer:
        return 200, _dump(enable_partner(self.ctx, check_partner_id(partner_id)))

    def rotate_secret(self, partner_id: str) -> Answer:
        rotated = rotate_partner_secret(self.ctx, check_partner_id(partner_id))
        revealed = SecretRotated(**{**rotated.model_dump(), "secret": rotated.secret.get_secret_value()})
        return 200, _dump(revealed)

    def publish(self, partner_id: str, raw: str | bytes | None) -> Answer:
        check_size(raw or b"", self.ctx.settings.max_event_bytes)
        request = parse(PublishRequest, raw)
        return 202, _dump(publish_event(self.ctx, check_partner_id(partner_id), request))

    def deliveries(self, partner_id: str, limit: str | None = None, cursor: str | None = None) -> Answer:
        check_partner_id(partner_id)
        self.ctx.partners.get(partner_id)
        return 200, _dump(list_deliveries(self.log, partner_id, _limit(limit), cursor))

    def update_code(self, raw: str | bytes | None) -> Answer:
        return 200, _dump(update_code_everywhere(self.ctx, parse(RolloutRequest, raw)))

    def invoke(self, operation: str, event: Any) -> dict[str, Any]:
        """A Lambda invocation: the event is the body plus ``partner_id``; errors come back as JSON."""
        try:
            if not isinstance(event, dict):
                raise InvalidInput("the event must be a JSON object")
            return self._dispatch(operation, dict(event))[1]
        except HookrelayError as exc:
            status, body = error_answer(exc)
            return {**body, "status": status}
        except Exception:
            logger.exception("unexpected failure", extra={"operation": operation})
            return {"error": "internal_error", "message": "unexpected failure; see the logs", "status": 500}

    def _dispatch(self, operation: str, event: dict[str, Any]) -> Answer:
        if operation in ("create", "update_code"):
            raw = json.dumps(event)
            return self.create(raw) if operation == "create" else self.update_code(raw)
        partner_id = check_partner_id(str(event.pop("partner_id", "")))
        raw = json.dumps(event)
        simple = {
            "delete": self.delete,
            "enable": self.enable,
            "rotate_secret": self.rotate_secret,
            "status": self.status,
        }
        with_body = {"update": self.update, "disable": self.disable, "publish": self.publish}
        if operation in simple:
            return simple[operation](partner_id)
        if operation in with_body:
            return with_body[operation](partner_id, raw)
        if operation == "deliveries":
            limit, cursor = event.get("limit"), event.get("cursor")
            return self.deliveries(partner_id, None if limit is None else str(limit), cursor)
        raise InvalidInput(f"unknown operation {operation!r}")
