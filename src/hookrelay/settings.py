"""Settings: one class per app, read from ``HOOKRELAY_*`` variables once.

The handler's settings double as the contract between the provisioner (which writes a partner
Lambda's environment with :meth:`HandlerSettings.to_environment`) and the handler (which reads it
with :meth:`HandlerSettings.from_environment`). No secret is ever part of an environment: the handler
gets the *id* of the partner's secret.

:class:`HandlerSettings` is a plain pydantic model: the handler never imports pydantic-settings, which
costs a cold start about 130 ms of CPU more than pydantic alone (its sources, dotenv, the CLI parser).
The other apps' settings are pydantic-settings classes on :class:`hookrelay.app_settings.CommonSettings`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from hookrelay.models import PARTNER_ID_PATTERN
from hookrelay.retry import RetryPolicy
from hookrelay.ssrf import IPNetwork, parse_networks

ENV_PREFIX = "HOOKRELAY_"


def _split_networks(value: Any) -> Any:
    """``loopback,10.0.0.0/8`` or the JSON list ``to_environment`` writes."""
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            return _decode(value)
        return tuple(v for v in value.split(",") if v.strip())
    return value


def _check_networks(value: tuple[str, ...]) -> tuple[str, ...]:
    parse_networks(value)
    return value


# Names ("loopback", "private") or CIDR blocks of non-public networks webhooks may reach; "a,b" or JSON.
NetworkNames = Annotated[tuple[str, ...], BeforeValidator(_split_networks), AfterValidator(_check_networks)]


class StageFields(BaseModel):
    """What every app's settings share; the values come from the top-level ``.chalice/`` stage settings."""

    stage: str = Field(default="dev", pattern=r"^[a-z0-9]{1,8}$")
    log_level: str = "INFO"
    metrics_namespace: str = "hookrelay"


class HandlerSettings(StageFields):
    """One partner's delivery settings: the environment of that partner's handler Lambda."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    partner_id: str = Field(pattern=PARTNER_ID_PATTERN)
    partner_url: str
    queue_url: str
    dead_letter_queue_url: str
    results_queue_url: str | None = None
    secret_id: str
    post_concurrency: int = Field(default=5, ge=1, le=50)
    connect_timeout: float = Field(default=10.0, gt=0, le=30)
    read_timeout: float = Field(default=10.0, gt=0, le=60)
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    legacy_signature: bool = False
    allowed_networks: NetworkNames = ()
    response_excerpt_bytes: int = Field(default=2048, ge=0, le=65_536)
    secret_cache_seconds: int = Field(default=300, ge=0, le=3600)
    max_receive_count: int | None = Field(
        default=None, ge=1, description="the queue's redrive maxReceiveCount: the last receive dead-letters"
    )
    signing_key_version: str | None = Field(
        default=None, description="the signing secret's VersionId: a rotation changes it (fresh handlers)"
    )
    max_requests_per_second: float | None = Field(default=None, gt=0, description="paced: the ceiling")
    adaptive_rate: bool = False
    block_on_failure: bool = Field(
        default=False, description="FIFO queue: after the last attempt the group stays stopped"
    )

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.allowed_networks)

    def to_environment(self) -> dict[str, str]:
        """The Lambda environment that reproduces these settings (no secrets in it)."""
        env: dict[str, str] = {}
        for name, value in self.model_dump(mode="json", exclude_none=True).items():
            key = ENV_PREFIX + name.upper()
            if isinstance(value, dict | list):
                env[key] = json.dumps(value, separators=(",", ":"))
            elif isinstance(value, bool):
                env[key] = "true" if value else "false"
            else:
                env[key] = str(value)
        return env

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> HandlerSettings:
        """Settings from an explicit environment (the local Lambda runtime uses this)."""
        values: dict[str, Any] = {}
        for key, raw in env.items():
            if not key.startswith(ENV_PREFIX):
                continue
            name = key.removeprefix(ENV_PREFIX).lower()
            field = cls.model_fields.get(name)
            if field is None:
                continue
            values[name] = _decode(raw) if name in _JSON_FIELDS else raw
        return cls.model_validate(values)


_JSON_FIELDS = {"retry_policy", "allowed_networks"}


def _decode(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


_cached_getters: list[Any] = []
T = TypeVar("T")


def cached_settings(getter: Callable[[], T]) -> Callable[[], T]:
    """Read settings once per process (``lru_cache``), and register the getter so that
    :func:`reset_cached_settings` can make every app read its environment again."""
    cached = lru_cache(maxsize=1)(getter)
    _cached_getters.append(cached)
    return cached


def reset_cached_settings() -> None:
    """Forget every cached settings object (the local stack calls this after changing the environment)."""
    for getter in _cached_getters:
        getter.cache_clear()


@cached_settings
def handler_settings() -> HandlerSettings:
    """The handler Lambda's settings, read from its environment once."""
    return HandlerSettings.from_environment(os.environ)
