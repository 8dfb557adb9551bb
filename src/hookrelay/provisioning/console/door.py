"""What the console and the portal share: the provisioner's API (every read and action is one of its
operations), the settings, the stage's console keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hookrelay.models import AttemptRecord
from hookrelay.provisioning.access import ConsoleKeys, ConsoleSettings, console_keys
from hookrelay.provisioning.api import Api
from hookrelay.provisioning.operations import BY_NAME

TEST_EVENT = {"topic": "hookrelay.test", "payload": {"test": True, "message": "a test event from hookrelay"}}
PAGE = "50"


@dataclass
class Door:
    api: Callable[[], Api]
    settings: Callable[[], ConsoleSettings] = ConsoleSettings

    @property
    def ctx(self) -> Any:
        return self.api().ctx

    def keys(self) -> ConsoleKeys:
        return console_keys(self.ctx.stage, self.ctx.clients)

    def call(
        self, operation: str, partner_id: str, body: Any = None, query: Any = None, **path: str
    ) -> dict[str, Any]:
        """The operation's JSON answer; its domain errors propagate (the caller makes them pages)."""
        raw = None if body is None else json.dumps(body)
        return self.api().call(BY_NAME[operation], partner_id, raw, query or {}, path)[1]

    def deliveries(self, partner_id: str, cursor: str | None) -> tuple[list[AttemptRecord], str | None]:
        page = self.call("deliveries", partner_id, query={"limit": PAGE, "cursor": cursor} if cursor else {})
        return [AttemptRecord.model_validate(i) for i in page["items"]], page.get("next_cursor")
