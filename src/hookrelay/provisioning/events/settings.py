"""The events feed's settings (``HOOKRELAY_*``): the dedup window and the router's parallel sends."""

from __future__ import annotations

from pydantic import Field

from hookrelay.app_settings import CommonSettings
from hookrelay.settings import cached_settings


class EventsSettings(CommonSettings):
    events_dedup_hours: float = Field(
        default=24.0, gt=0, le=24 * 30, description="an event id seen this recently is not enqueued again"
    )
    router_threads: int = Field(
        default=16, ge=1, le=64, description="partner queues the router sends to at the same time"
    )


@cached_settings
def events_settings() -> EventsSettings:
    return EventsSettings()
