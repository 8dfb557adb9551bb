"""The provisioner's settings (``HOOKRELAY_*``), and the tags every partner resource carries."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hookrelay import naming
from hookrelay.app_settings import EnvNetworkNames
from hookrelay.attempts.settings import AttemptsSettings
from hookrelay.settings import cached_settings
from hookrelay.ssrf import IPNetwork, parse_networks


class ProvisionerSettings(AttemptsSettings):
    """What the provisioner needs beyond the shared stage settings (and the attempt log's TTL)."""

    artifact_bucket: str | None = Field(default=None, description="default: hookrelay-<stage>-artifacts")
    handler_runtime: str = "python3.11"
    handler_memory_mb: int = Field(default=256, ge=128, le=10_240)
    log_retention_days: int = Field(default=30, ge=1, le=3653, description="never forever")
    max_receive_count: int = Field(default=5, ge=1, le=1000, description="receives before the DLQ")
    oldest_message_alarm_seconds: int = Field(default=1800, ge=60)
    rotation_grace_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    max_event_bytes: int = Field(default=256 * 1024, ge=1024, le=256 * 1024)
    # update-code (hookrelay.provisioning.rollouts: the arithmetic behind these defaults is there)
    rollout_calls_per_second: float = Field(
        default=12.0,
        gt=0,
        le=10_000,
        description="Lambda control-plane calls/s a rollout may spend (AWS: 15)",
    )
    rollout_workers: int = Field(default=2, ge=2, le=100, description="rollout worker concurrency")
    rollout_threads: int = Field(default=8, ge=1, le=64, description="partners in flight per worker")
    rollout_chunk_size: int = Field(default=25, ge=1, le=500, description="partners per work message")
    keep_versions: int = Field(default=3, ge=1, le=50, description="function versions kept by pruning")
    role_propagation_attempts: int = Field(default=6, ge=1, le=20)
    keep_layer_versions: int = Field(default=3, ge=1, le=50, description="handler layer versions kept")
    creator: str = Field(default="hookrelay-provisioner", description="the 'creator' tag")
    handler_role: Literal["per-partner", "shared"] = Field(
        default="per-partner",
        description="per-partner: one role each (isolation, 1 IAM role per partner); shared: one per stage",
    )
    partner_alarms: tuple[str, ...] = Field(
        default=(),
        description="partners that also get their own 3 alarms; every partner is under the stage alarms",
    )
    # the message store, resend and replay (hookrelay.provisioning.messages)
    messages_ttl_days: int = Field(default=30, ge=1, le=365, description="webhooks kept for resend/replay")
    message_inline_bytes: int = Field(
        default=350_000, ge=1024, le=380_000, description="larger envelopes go to S3 (400 KB item limit)"
    )
    replay_chunk_size: int = Field(default=100, ge=1, le=1000, description="webhooks a replay step enqueues")
    replay_delay_seconds: int = Field(default=5, ge=0, le=900, description="pause between a replay's steps")
    allowed_networks: EnvNetworkNames = Field(
        default=(), description="non-public networks partner URLs may use ('loopback' in the local stack)"
    )
    # partner health (docs/partner-health.md): the stage's thresholds; a partner may override the first three
    pause_after_failures: int = Field(default=400, ge=1, description="failed attempts in a row that pause")
    pause_after_hours: float = Field(default=24.0, ge=0, description="...with this long since a success")
    gone_pauses: bool = Field(default=True, description="a 410 Gone pauses the partner at once")
    failing_notice_after: int = Field(default=10, ge=1, description="failures in a row told as 'failing'")
    failing_notice_every_minutes: float = Field(
        default=60.0, ge=0, description="at most one 'failing' notice per partner this often"
    )

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.allowed_networks)

    @property
    def bucket(self) -> str:
        return self.artifact_bucket or naming.artifact_bucket(self.stage)

    @property
    def roles_per_partner(self) -> int:
        """IAM roles one more partner costs (capacity counts these; the shared role is one per stage)."""
        return 1 if self.handler_role == "per-partner" else 0

    @property
    def alarms_per_partner(self) -> int:
        """CloudWatch alarms one more partner costs, unless listed in ``partner_alarms`` (then 3)."""
        return 0

    @property
    def stage_roles(self) -> int:
        """IAM roles the stage has once, whatever its partners (the shared handler role)."""
        return 1 - self.roles_per_partner

    @property
    def stage_alarms(self) -> int:
        """Metrics Insights alarms the stage has once (their own quota: 200 per account and region)."""
        return len(naming.ALARM_KINDS)

    def alarms_of(self, partner_id: str) -> int:
        """The alarms this partner gets of its own."""
        return len(naming.ALARM_KINDS) if partner_id in self.partner_alarms else self.alarms_per_partner

    def tags(self, partner_id: str) -> dict[str, str]:
        """Tags on everything a partner owns: operators find and count resources by these."""
        return {
            "project": naming.PROJECT,
            "environment": self.stage,
            "partner": partner_id,
            "creator": self.creator,
        }


@cached_settings
def provisioner_settings() -> ProvisionerSettings:
    return ProvisionerSettings()
