"""The attempt recorder's settings (``HOOKRELAY_*``): the stage and how long attempts are kept."""

from __future__ import annotations

from pydantic import Field

from hookrelay.app_settings import CommonSettings
from hookrelay.settings import cached_settings


class AttemptsSettings(CommonSettings):
    """What the stage-wide results recorder needs: its stage (the queue and tables are named for it)."""

    deliveries_ttl_days: int = Field(default=30, ge=1, le=3650, description="attempts expire after this")


@cached_settings
def attempts_settings() -> AttemptsSettings:
    return AttemptsSettings()
