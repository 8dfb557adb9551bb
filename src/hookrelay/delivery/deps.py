"""What one partner's handler needs, built once per container (or per partner, in the local runtime).

:func:`build_deps` turns a partner's :class:`~hookrelay.settings.HandlerSettings` into a pooled HTTP
transport pinned by the SSRF guard, the cached signing keys and the SQS client (the AWS clients lean
ones, :mod:`hookrelay.aws.wire`, unless given). No results publisher: attempt records are log lines
(:func:`hookrelay.delivery.report.log_attempt`). The clock and the random source are fields, so tests
can fix them. A paced partner (a ``max_requests_per_second`` in its settings) also gets a
:class:`~hookrelay.delivery.pacer.Pacer` over its item in the partners table; an unpaced one gets none
(no DynamoDB client, no call).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from hookrelay import naming
from hookrelay.aws import wire
from hookrelay.delivery.attempt import Endpoint
from hookrelay.delivery.transport import PinnedTransport, build_transport
from hookrelay.models import utcnow
from hookrelay.settings import HandlerSettings
from hookrelay.signing.keys import CachedSigningKeys

if TYPE_CHECKING:
    from types_boto3_dynamodb import DynamoDBClient
    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_sqs import SQSClient

    from hookrelay.delivery.pacer import Pacer


@dataclass
class HandlerDeps:
    """Everything one partner's handler needs; built once per container (or per local partner)."""

    settings: HandlerSettings
    transport: PinnedTransport
    keys: CachedSigningKeys
    sqs: SQSClient | None = None
    clock: Callable[[], datetime] = utcnow
    rand: Callable[[], float] = random.random
    pacer: Pacer | None = None  # only for a paced partner
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def pool(self) -> ThreadPoolExecutor:
        """The delivery threads, started once per container (not once per batch)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.settings.post_concurrency, thread_name_prefix="deliver"
            )
        return self._pool

    @property
    def endpoint(self) -> Endpoint:
        s = self.settings
        return Endpoint(
            url=s.partner_url,
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            legacy_signature=s.legacy_signature,
            excerpt_bytes=s.response_excerpt_bytes,
        )


def build_deps(
    settings: HandlerSettings,
    sqs: SQSClient | None = None,
    secretsmanager: SecretsManagerClient | None = None,
    dynamodb: DynamoDBClient | None = None,
) -> HandlerDeps:
    """The deps of ``settings``' partner; the SQS and Secrets Manager clients not given are the lean ones
    (:func:`hookrelay.aws.wire.client`: a fraction of botocore's CPU per call)."""
    sqs = sqs or wire.client("sqs")
    secretsmanager = secretsmanager or wire.client("secretsmanager")
    return HandlerDeps(
        settings=settings,
        transport=build_transport(settings.networks, pool_size=settings.post_concurrency),
        keys=CachedSigningKeys(
            settings.secret_id, settings.secret_cache_seconds, secretsmanager=secretsmanager
        ),
        sqs=sqs,
        pacer=build_pacer(settings, dynamodb),
    )


def build_pacer(settings: HandlerSettings, dynamodb: DynamoDBClient | None = None) -> Pacer | None:
    """A paced partner's pacer over its item in the stage's partners table; None when not paced."""
    if settings.max_requests_per_second is None:
        return None
    from hookrelay.delivery.pacer import Pacer  # a paced partner's path only: most never import it
    from hookrelay.partners.pace_store import PaceStore

    store = PaceStore(naming.partners_table(settings.stage), settings.partner_id, dynamodb)
    return Pacer(store, settings.max_requests_per_second, settings.adaptive_rate)
