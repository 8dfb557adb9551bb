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
from typing import Any, Self

from pydantic import Field, SecretStr, model_validator

from hookrelay.alarms.slack_post import SlackPolicy
from hookrelay.aws import clients as aws
from hookrelay.aws.errors import AWS_ERRORS, error_code
from hookrelay.caching import TtlCache
from hookrelay.errors import DependencyUnavailable, NotFound
from hookrelay.settings import CommonSettings, cached_settings


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


def read_webhook_url(secret_id: str, secretsmanager: Any | None = None) -> SecretStr:
    """The webhook URL stored in a secret. Raises NotFound or DependencyUnavailable (never quoting it)."""
    client = secretsmanager or aws.client("secretsmanager")
    try:
        value = str(client.get_secret_value(SecretId=secret_id)["SecretString"]).strip()
    except AWS_ERRORS as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise NotFound(f"Slack webhook secret {secret_id} does not exist") from exc
        raise DependencyUnavailable(
            f"cannot read Slack webhook secret {secret_id}: {error_code(exc)}"
        ) from exc
    except KeyError as exc:
        raise DependencyUnavailable(f"Slack webhook secret {secret_id} has no SecretString") from exc
    if value.startswith("{"):
        try:
            value = str(json.loads(value)["url"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise DependencyUnavailable(
                f"Slack webhook secret {secret_id} is JSON without a 'url' key"
            ) from exc
    if not value.startswith(("https://", "http://")):
        raise DependencyUnavailable(f"Slack webhook secret {secret_id} does not hold an http(s) URL")
    return SecretStr(value)


class WebhookUrl:
    """The webhook URL from settings, read from Secrets Manager at most once per cache period."""

    def __init__(
        self,
        settings: AlarmToSlackSettings,
        secretsmanager: Any | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fixed = settings.slack_webhook_url if settings.slack_webhook_secret_id is None else None
        secret_id = str(settings.slack_webhook_secret_id)
        self._cache = TtlCache(
            lambda: read_webhook_url(secret_id, secretsmanager), settings.slack_webhook_cache_seconds, clock
        )

    def get(self) -> SecretStr:
        return self._fixed if self._fixed is not None else self._cache.get()

    def forget(self) -> None:
        """Drop a cached secret value (after Slack refused the URL, say)."""
        self._cache.forget()
