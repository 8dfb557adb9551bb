"""alarm-to-slack's settings, and where its Slack webhook URL comes from.

The webhook URL is a secret (anyone holding it can post to the channel). It comes from Secrets
Manager (``HOOKRELAY_SLACK_WEBHOOK_SECRET_ID``; the value is the URL itself or JSON with a ``url``
key) or, for local use, from ``HOOKRELAY_SLACK_WEBHOOK_URL``. It is kept as a ``SecretStr`` and
never logged; a secret value is re-read after ``slack_webhook_cache_seconds`` so a rotation lands.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from pydantic import Field, SecretStr, model_validator

from hookrelay.alarms.slack_post import SlackPolicy
from hookrelay.app_settings import CommonSettings
from hookrelay.aws.secrets import CachedSecret, read_secret
from hookrelay.settings import cached_settings

if TYPE_CHECKING:
    from types_boto3_secretsmanager import SecretsManagerClient


class AlarmToSlackSettings(CommonSettings):
    slack_webhook_url: SecretStr | None = None
    slack_webhook_secret_id: str | None = None
    slack_webhook_cache_seconds: int = Field(default=300, ge=0, le=3600)
    slack_policy: SlackPolicy = Field(default_factory=SlackPolicy)
    error_log_lines: int = Field(default=5, ge=0, le=20, description="0 turns the log excerpt off")
    error_log_pages: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.slack_webhook_url is None) == (self.slack_webhook_secret_id is None):
            raise ValueError(
                "set exactly one of HOOKRELAY_SLACK_WEBHOOK_URL, HOOKRELAY_SLACK_WEBHOOK_SECRET_ID"
            )
        return self


@cached_settings
def alarm_settings() -> AlarmToSlackSettings:
    """The app's settings, read from its environment once."""
    return AlarmToSlackSettings()


def parse_webhook_url(text: str) -> SecretStr:
    """The URL itself, or JSON with a ``url`` key. Raises ValueError (never quoting the value)."""
    value = text.strip()
    if value.startswith("{"):
        try:
            value = str(json.loads(value)["url"]).strip()
        except (ValueError, KeyError, TypeError):
            raise ValueError("JSON without a 'url' key") from None
    if not value.startswith(("https://", "http://")):
        raise ValueError("not an http(s) URL")
    return SecretStr(value)


class CachedWebhookUrl(CachedSecret[SecretStr]):
    what = "Slack webhook secret"

    def parse(self, text: str) -> SecretStr:
        return parse_webhook_url(text)


def read_webhook_url(secret_id: str, secretsmanager: SecretsManagerClient | None = None) -> SecretStr:
    """The webhook URL stored in a secret. Raises NotFound or DependencyUnavailable (never quoting it)."""
    return read_secret(secret_id, CachedWebhookUrl.what, parse_webhook_url, secretsmanager)


class WebhookUrl:
    """The webhook URL from settings, read from Secrets Manager at most once per cache period."""

    def __init__(
        self,
        settings: AlarmToSlackSettings,
        secretsmanager: SecretsManagerClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fixed = settings.slack_webhook_url if settings.slack_webhook_secret_id is None else None
        secret_id = str(settings.slack_webhook_secret_id)
        self._cache = CachedWebhookUrl(secret_id, settings.slack_webhook_cache_seconds, secretsmanager, clock)

    def get(self) -> SecretStr:
        return self._fixed if self._fixed is not None else self._cache.get()

    def forget(self) -> None:
        """Drop a cached secret value (after Slack refused the URL, say)."""
        self._cache.forget()
