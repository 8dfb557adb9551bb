"""What an operator may do from a partner page: each action is one provisioner operation, its body fixed
or made from the form, and what its answer becomes (a redirect back, the one-time secret, a link, a
replay's page). A webhook's resend is on that webhook's page (``Console.resend``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hookrelay.provisioning.console.door import TEST_EVENT


def _replay_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The replay form (datetime-local fields, UTC) as the replay operation's body."""
    return {
        "since": form.get("since", ""),
        "until": form.get("until", ""),
        "only_failed": "only_failed" in form,
    }


@dataclass(frozen=True)
class ConsoleAction:
    operation: str
    body: Mapping[str, Any]
    answer: str = "redirect"  # redirect (to the partner page), secret (shown once), link, replay
    from_form: Callable[[Mapping[str, str]], dict[str, Any]] | None = None  # the body, from the form


# What an operator may do from a partner page: each is one provisioner operation (a webhook's resend is
# on its own page).
ACTIONS: dict[str, ConsoleAction] = {
    "disable": ConsoleAction("disable", {"purge": False}),
    "enable": ConsoleAction("enable", {}),
    "rotate-secret": ConsoleAction("rotate_secret", {}, "secret"),
    "test-event": ConsoleAction("publish", TEST_EVENT),
    "portal-link": ConsoleAction("portal_link", {}, "link"),
    "replay": ConsoleAction("replay", {}, "replay", _replay_body),
    "redrive": ConsoleAction("redrive", {"max_messages": 1000}),
}
