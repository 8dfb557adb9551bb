"""What every provisioning operation works with: settings, clients, clock, the partners table.

Also the two things several operations compute the same way: whether a partner URL may be used
(the handler's SSRF policy, applied up front), and the handler Lambda's environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.errors import InvalidInput
from hookrelay.models import utcnow
from hookrelay.partners.model import DeliveryOptions, pace_ceiling
from hookrelay.partners.ordering import dead_letter_queue_name, max_receive_count, queue_name
from hookrelay.partners.table import PartnerRepository
from hookrelay.provisioning.events.router import Router
from hookrelay.provisioning.messages.store import MessageStore
from hookrelay.provisioning.publish import EventPublisher
from hookrelay.provisioning.quotas import QuotaReader
from hookrelay.provisioning.resources.attempt_filter import find_recorder_arn
from hookrelay.provisioning.resources.queues import find_queue_url
from hookrelay.provisioning.resources.secrets import current_version
from hookrelay.provisioning.resources.shared import SharedArns, shared_arns
from hookrelay.provisioning.settings import ProvisionerSettings, provisioner_settings
from hookrelay.settings import HandlerSettings, cached_settings
from hookrelay.ssrf import DnsFailure, check_url


@dataclass
class Provisioner:
    settings: ProvisionerSettings
    clients: Clients = field(default_factory=Clients)
    clock: Callable[[], datetime] = utcnow
    quotas: QuotaReader = field(default_factory=QuotaReader)  # the account's quotas, cached for seconds

    @property
    def stage(self) -> str:
        return self.settings.stage

    @property
    def partners(self) -> PartnerRepository:
        return PartnerRepository(naming.partners_table(self.stage), self.clients)

    @property
    def publisher(self) -> EventPublisher:
        limit, keep = self.settings.max_event_bytes, self.messages.keep  # kept before it is sent
        return EventPublisher(self.stage, self.partners, self.clients.sqs, limit, keep=keep)

    @property
    def messages(self) -> MessageStore:
        """The message store (every published webhook kept ``messages_ttl_days``, for resend and replay)."""
        s = self.settings
        return MessageStore(
            self.stage, self.clients, s.messages_ttl_days, s.bucket, s.message_inline_bytes, self.clock
        )

    @cached_property
    def router(self) -> Router:
        """The events router (docs/events.md): the message store keeps each fan-out batch before it is sent.
        Made once per context (it looks the events queue's URL up once)."""
        return Router.of_stage(
            self.stage, self.clients, self.settings.max_event_bytes, keep=self.messages.keep
        )

    @cached_property
    def recorder_arn(self) -> str:
        """The stage's attempt recorder (the partners' log groups' subscription destination): looked up by
        name once per context, as it never moves (DependencyUnavailable, not cached, while it is missing)."""
        return find_recorder_arn(self.stage, self.clients)

    def check_destination(self, url: str) -> None:
        """Refuse a URL the handler would refuse: non-public addresses unless allowed, or no address."""
        try:
            check_url(url, self.settings.networks)
        except DnsFailure as exc:
            raise InvalidInput(f"url host does not resolve: {exc}") from exc

    def handler_environment(
        self,
        partner_id: str,
        options: DeliveryOptions,
        shared: SharedArns | None = None,
        queue_urls: tuple[str, str] | None = None,
        key_version: str | None = None,
    ) -> dict[str, str]:
        """The partner Lambda's environment: its settings, the secret's *id*, never the secret.

        ``shared`` and ``queue_urls`` (queue, DLQ): what the caller already looked up (create has both).
        ``key_version``: the secret's current VersionId, if the caller has it (create, rotate); else it
        is read from the secret (one DescribeSecret), so a rebuilt environment keeps the key version."""
        shared = shared or shared_arns(self.stage, self.clients)
        queue, dlq = queue_urls or (
            queue_name(self.stage, partner_id, options.ordering),
            dead_letter_queue_name(self.stage, partner_id, options.ordering),
        )
        secret_id = naming.partner_secret(self.stage, partner_id)
        settings = HandlerSettings(
            stage=self.stage,
            log_level=self.settings.log_level,
            metrics_namespace=self.settings.metrics_namespace,
            partner_id=partner_id,
            partner_url=options.url,
            queue_url=queue if queue_urls else find_queue_url(queue, self.clients) or queue,
            dead_letter_queue_url=dlq if queue_urls else find_queue_url(dlq, self.clients) or dlq,
            results_queue_url=shared.results_queue_url,
            secret_id=secret_id,
            post_concurrency=options.post_concurrency,
            connect_timeout=options.connect_timeout,
            read_timeout=options.read_timeout,
            retry_policy=options.retry_policy,
            legacy_signature=options.legacy_signature,
            allowed_networks=self.settings.allowed_networks,
            max_receive_count=max_receive_count(options.ordering, self.settings.max_receive_count),
            signing_key_version=key_version or current_version(secret_id, self.clients),
            max_requests_per_second=pace_ceiling(options),
            adaptive_rate=options.adaptive_rate,
            block_on_failure=options.block_on_failure,
        )
        return settings.to_environment()


@cached_settings
def provisioner() -> Provisioner:
    """The process-wide provisioner (the apps use this; tests build their own or clear the cache)."""
    return Provisioner(settings=provisioner_settings())
