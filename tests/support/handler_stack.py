"""One partner's delivery resources on moto, ready for hookrelay.delivery.batch.handle_batch."""

from __future__ import annotations

import json
import logging
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hookrelay.attempts import lines
from hookrelay.delivery.deps import HandlerDeps, build_deps
from hookrelay.delivery.report import ATTEMPT_LOGGER
from hookrelay.models import AttemptRecord, WebhookMessage
from hookrelay.observability import JsonFormatter
from hookrelay.retry import RetryPolicy
from hookrelay.settings import HandlerSettings
from hookrelay.signing import standard as signing
from hookrelay.signing.keys import SigningKey, SigningKeys

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class RecordingSqs:
    """Delegates to a real client, records every call, and can refuse chosen sends."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refuse_bodies_containing: list[str] = []

    def send_message(self, **kwargs: Any) -> Any:
        self.calls.append(("send_message", kwargs))
        if any(marker in kwargs["MessageBody"] for marker in self.refuse_bodies_containing):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ServiceUnavailable"}}, "SendMessage")
        return self.real.send_message(**kwargs)

    def send_message_batch(self, **kwargs: Any) -> Any:
        self.calls.append(("send_message_batch", kwargs))
        return self.real.send_message_batch(**kwargs)

    def sends_to(self, queue_url: str) -> list[dict[str, Any]]:
        return [k for name, k in self.calls if name == "send_message" and k["QueueUrl"] == queue_url]


class AttemptLines(logging.Handler):
    """The JSON lines the handler's attempt logger writes, as CloudWatch Logs would get them."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.setFormatter(JsonFormatter("handler"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def records(self, partner_id: str) -> list[AttemptRecord]:
        """The attempt records of ``partner_id``'s marked lines, read as the recorder reads them."""
        parsed = [json.loads(line) for line in list(self.lines)]
        found = [AttemptRecord.model_validate(p) for p in parsed if lines.is_attempt_line(p)]
        return [r for r in found if r.partner_id == partner_id]


@dataclass
class PartnerStack:
    sqs: RecordingSqs
    queue_url: str
    dlq_url: str
    results_url: str
    secret: str
    settings: HandlerSettings
    deps: HandlerDeps
    clock_now: list[datetime] = field(default_factory=lambda: [NOW])
    attempt_lines: AttemptLines = field(default_factory=AttemptLines)

    def message(self, **overrides: Any) -> WebhookMessage:
        fields: dict[str, Any] = {
            "partner_id": self.settings.partner_id,
            "topic": "transfer.created",
            "payload": {"amount": "5.00"},
            "created_at": NOW,
        }
        fields.update(overrides)
        return WebhookMessage.model_validate(fields)

    def results(self) -> list[dict[str, Any]]:
        """The attempt records the handler wrote (its marked log lines), as JSON documents."""
        return [r.model_dump(mode="json", exclude_none=True) for r in self.results_records()]

    def results_records(self) -> list[AttemptRecord]:
        return self.attempt_lines.records(self.settings.partner_id)


def build_partner_stack(
    raw_sqs: Any,
    secretsmanager: Any,
    url: str,
    partner_id: str = "acme",
    *,
    capture_lines: bool = True,
    **settings: Any,
) -> PartnerStack:
    """A partner's queues, secret, settings and deps on ``raw_sqs``/``secretsmanager``; its attempt lines
    captured for :meth:`PartnerStack.results` unless ``capture_lines`` is off (benchmarks: the capture
    formats each line a second time)."""
    queue_url = raw_sqs.create_queue(QueueName=f"hookrelay-test-{partner_id}")["QueueUrl"]
    dlq_url = raw_sqs.create_queue(QueueName=f"hookrelay-test-{partner_id}-dlq")["QueueUrl"]
    results_url = raw_sqs.create_queue(QueueName="hookrelay-test-results")["QueueUrl"]
    secret = signing.generate_secret()
    keys = SigningKeys(keys=[SigningKey(secret=secret, created_at=NOW)])
    secret_id = f"hookrelay/test/{partner_id}/signing"
    secretsmanager.create_secret(Name=secret_id, SecretString=keys.to_secret_string())
    values: dict[str, Any] = {
        "partner_id": partner_id,
        "partner_url": url,
        "queue_url": queue_url,
        "dead_letter_queue_url": dlq_url,
        "results_queue_url": results_url,
        "secret_id": secret_id,
        "allowed_networks": ("loopback",),
        "read_timeout": 2.0,
        "connect_timeout": 2.0,
        "retry_policy": RetryPolicy(jitter=0),
    }
    values.update(settings)
    handler_settings = HandlerSettings.model_validate(values)
    sqs = RecordingSqs(raw_sqs)
    deps = build_deps(handler_settings, sqs=sqs, secretsmanager=secretsmanager)
    stack = PartnerStack(sqs, queue_url, dlq_url, results_url, secret, handler_settings, deps)
    deps.clock = lambda: stack.clock_now[0]
    if capture_lines:
        attempt_logger = logging.getLogger(ATTEMPT_LOGGER)
        attempt_logger.addHandler(stack.attempt_lines)
        weakref.finalize(stack, attempt_logger.removeHandler, stack.attempt_lines)
    return stack


def stack_on_moto(moto_url: str, partner_url: str, partner_id: str = "acme", **settings: Any) -> PartnerStack:
    """:func:`build_partner_stack` on moto's server at ``moto_url`` (a handler in a child process can
    reach it), its attempt lines captured in this process as usual."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    secrets = boto3.client("secretsmanager", endpoint_url=moto_url, region_name="us-east-1")
    return build_partner_stack(sqs, secrets, partner_url, partner_id, **settings)


def lambda_environment(moto_url: str, stack: PartnerStack, function_name: str) -> dict[str, str]:
    """The environment Lambda gives ``stack``'s handler (its settings, credentials as a role's, AWS at
    ``moto_url``, EMF off)."""
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "POWERTOOLS_METRICS_DISABLED": "true",
        **stack.settings.to_environment(),
    }
