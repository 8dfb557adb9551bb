"""The receiver's use case: accept one webhook from hookrelay, safely, and answer (docs/receiver.md).

In order: too large 413; no body 400; missing headers 400; a signature that does not verify 401; not a
JSON object 400. Then claim the id (dedup), send to the inbox queue, and answer 200 only once SQS has
confirmed. A queued id again: 200, not queued. In flight elsewhere: 409. Queue or table down: 503.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr

from hookrelay.app_settings import CommonSettings
from hookrelay.aws import clients as aws
from hookrelay.aws import sqs as sqs_ops
from hookrelay.errors import Conflict, DependencyUnavailable, InvalidInput, PayloadTooLarge, Unauthorized
from hookrelay.receiving.dedup import ClaimState, DedupTable
from hookrelay.receiving.inbox import queue_webhook
from hookrelay.receiving.secrets import ManagedSecrets, SecretSource, StaticSecrets
from hookrelay.settings import cached_settings
from hookrelay.signing.standard import (
    HEADER_ID,
    HEADER_LEGACY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    Verifier,
    WebhookVerificationError,
)

if TYPE_CHECKING:
    from types_boto3_dynamodb import DynamoDBClient
    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

# Characters SQS refuses in a message body (valid JSON may still hold them, raw, inside a string).
_NOT_FOR_SQS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class ReceiverSettings(CommonSettings):
    """The receiver app's settings: ``HOOKRELAY_RECEIVER_*`` (and the common ``HOOKRELAY_*``)."""

    receiver_path: str = Field(default="/", pattern=r"^/[A-Za-z0-9._~/-]*$")
    receiver_queue_name: str = Field(default="hookrelay-receiver-inbox", pattern=r"^[A-Za-z0-9_-]{1,80}$")
    receiver_queue_url: str | None = None
    receiver_table: str = "hookrelay-receiver-webhooks"
    receiver_secrets: SecretStr | None = None
    receiver_secret_id: str | None = None
    receiver_secret_cache_seconds: int = Field(default=300, ge=0, le=3600)
    receiver_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    receiver_legacy_signature: bool = False
    receiver_max_body_bytes: int = Field(default=240 * 1024, ge=1024, le=1_000_000)
    receiver_lease_seconds: int = Field(default=30, ge=5, le=900)
    receiver_dedup_ttl_seconds: int = Field(default=14 * 86_400, ge=3600)
    receiver_partial_batch: bool = False


@cached_settings
def receiver_settings() -> ReceiverSettings:
    return ReceiverSettings()


class IncomingRequest(BaseModel):
    """One HTTP request, as any framework hands it over. Header names are kept lower-case."""

    headers: dict[str, str]
    body: bytes | None

    @classmethod
    def from_parts(cls, headers: Mapping[str, str], body: bytes | str | None) -> IncomingRequest:
        raw = body.encode() if isinstance(body, str) else body
        return cls(headers={k.lower(): v for k, v in headers.items()}, body=raw)


class Accepted(BaseModel):
    webhook_id: str
    duplicate: bool
    message_id: str | None = None

    def response_body(self) -> dict[str, str]:
        return {"status": "duplicate" if self.duplicate else "queued", "webhook_id": self.webhook_id}


@dataclass
class Receiver:
    """Everything ``receive`` needs; built once per container, or by tests and the local stack."""

    settings: ReceiverSettings
    secrets: SecretSource
    dedup: DedupTable
    queue_url: Callable[[], str]
    sqs: SQSClient | None = None
    clock: Callable[[], float] = time.time

    @property
    def queue_client(self) -> SQSClient:
        """The injected client, else one with short timeouts (created on first use, not at build)."""
        return self.sqs or aws.client("sqs", config=aws.INTERACTIVE_CONFIG)


def build_receiver(
    settings: ReceiverSettings,
    *,
    sqs: SQSClient | None = None,
    dynamodb: DynamoDBClient | None = None,
    secretsmanager: SecretsManagerClient | None = None,
) -> Receiver:
    """Wire a receiver from settings; pass clients to talk to another endpoint (moto, the local stack).

    A client not passed is created on first use with the short timeouts of
    :data:`hookrelay.aws.clients.INTERACTIVE_CONFIG` (a sender waits on every call); a request refused
    before it needs AWS (a bad signature) creates none.
    """
    source: SecretSource
    if settings.receiver_secrets is not None and settings.receiver_secret_id is None:
        try:
            source = StaticSecrets(settings.receiver_secrets.get_secret_value())
        except ValueError as exc:
            raise DependencyUnavailable(f"HOOKRELAY_RECEIVER_SECRETS: {exc}") from None
    elif settings.receiver_secret_id is not None and settings.receiver_secrets is None:
        source = ManagedSecrets(
            settings.receiver_secret_id, settings.receiver_secret_cache_seconds, secretsmanager
        )
    else:
        raise DependencyUnavailable(
            "receiver not configured: set exactly one of HOOKRELAY_RECEIVER_SECRETS or"
            " HOOKRELAY_RECEIVER_SECRET_ID"
        )
    dedup = DedupTable(
        settings.receiver_table,
        settings.receiver_lease_seconds,
        settings.receiver_dedup_ttl_seconds,
        dynamodb,
    )
    fixed = settings.receiver_queue_url
    queue_url = (
        (lambda: fixed)
        if fixed
        else lru_cache(maxsize=1)(
            lambda: sqs_ops.lookup_queue_url(settings.receiver_queue_name, receiver.queue_client)
        )
    )
    receiver = Receiver(settings, source, dedup, queue_url, sqs)
    return receiver


def receive(request: IncomingRequest, receiver: Receiver) -> Accepted:
    """Verify, deduplicate and queue one webhook. Raises hookrelay.errors.* for every other answer."""
    settings = receiver.settings
    body = _checked_body(request, settings.receiver_max_body_bytes)
    required = [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE]
    if settings.receiver_legacy_signature:
        required.append(HEADER_LEGACY)
    missing = [name for name in required if not request.headers.get(name.lower(), "").strip()]
    if missing:
        raise InvalidInput(f"missing header(s): {', '.join(missing)}")
    if len(request.headers[HEADER_ID]) > 256:
        raise InvalidInput("webhook-id is longer than 256 characters")
    now = receiver.clock()
    verifier = Verifier(
        receiver.secrets.secrets(),
        tolerance_seconds=settings.receiver_tolerance_seconds,
        legacy=settings.receiver_legacy_signature,
    )
    try:
        verified = verifier.verify(request.headers, body, now=now)
    except WebhookVerificationError as exc:
        logger.warning("webhook refused", extra={"reason": str(exc)})
        raise Unauthorized(f"signature verification failed: {exc}") from None
    text, payload = _json_object(body)
    claim = receiver.dedup.claim(verified.webhook_id, now)
    if claim.state is ClaimState.DONE:
        logger.info("duplicate webhook, already queued", extra={"webhook_id": verified.webhook_id})
        return Accepted(webhook_id=verified.webhook_id, duplicate=True)
    if claim.state is ClaimState.IN_FLIGHT:
        raise Conflict(f"webhook {verified.webhook_id} is being received by another request; retry later")
    try:
        message_id = queue_webhook(
            receiver.queue_url(),
            verified.webhook_id,
            verified.timestamp,
            text,
            payload,
            receiver.queue_client,
        )
    except BaseException:
        receiver.dedup.release(claim)
        raise
    receiver.dedup.complete(claim, receiver.clock(), message_id)
    logger.info("webhook queued", extra={"webhook_id": verified.webhook_id, "sqs_message_id": message_id})
    return Accepted(webhook_id=verified.webhook_id, duplicate=False, message_id=message_id)


def _checked_body(request: IncomingRequest, limit: int) -> bytes:
    declared = request.headers.get("content-length", "").strip()
    if declared and not (declared.isascii() and declared.isdecimal()):
        raise InvalidInput("Content-Length is not a number")
    if declared and int(declared) > limit:
        raise PayloadTooLarge(f"body is over the {limit}-byte limit")
    if not request.body:
        raise InvalidInput("request has no body")
    if len(request.body) > limit:
        raise PayloadTooLarge(f"body is over the {limit}-byte limit")
    return request.body


def _json_object(body: bytes) -> tuple[str, dict[str, Any]]:
    try:
        text = body.decode("utf-8")
        payload = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InvalidInput("body is not UTF-8 JSON (or is nested too deep)") from None
    if not isinstance(payload, dict):
        raise InvalidInput("body is not a JSON object")
    if _NOT_FOR_SQS.search(text):
        raise InvalidInput("body holds characters a queue cannot carry")
    return text, payload
