"""`make demo`'s replay scene: a partner "loses" a stretch of webhooks and a replay brings them back.

The partner ``forgetful`` answers 200 to everything but, while it is "losing", throws what it receives
away (a bad deploy on its side: every webhook delivered, none processed). Then it says so, and the
operator replays that window (``POST /partners/forgetful/replay``); the replay worker sends the kept
webhooks again, same webhook-ids, and this time the partner keeps them. The scene's counts join the
demo's summary: published, lost by the partner, matched by the replay, recovered, still lost (must be 0).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from hookrelay_local.demo_parts import wait
from hookrelay_local.partner_server import PartnerServer, Received, Reply

PARTNER = "forgetful"


class Forgetful:
    """Answers 200 always; keeps a webhook only when it is not losing them."""

    def __init__(self) -> None:
        self.losing = True
        self.dropped: set[str] = set()
        self.kept: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        webhook_id = request.headers.get("webhook-id", "")
        with self.lock:
            (self.dropped if self.losing else self.kept).add(webhook_id)
        return Reply(status=200)

    def count(self, ids: list[str], kept: bool) -> int:
        with self.lock:
            return len(set(ids) & (self.kept if kept else self.dropped))


@dataclass(frozen=True)
class ReplayOutcome:
    published: int
    lost: int  # delivered while the partner was losing them
    matched: int  # what the replay counted in the window
    recovered: int  # kept by the partner after the replay
    seconds: float  # from the replay request to the last webhook kept

    @property
    def still_lost(self) -> int:
        return self.published - self.recovered

    def summary(self) -> str:
        return (
            f"replay: partner {PARTNER} lost {self.lost} of {self.published} webhooks; the replay matched "
            f"{self.matched} and brought back {self.recovered} in {self.seconds:.1f} s; still lost: "
            f"{self.still_lost}"
        )


def replay_scene(api: str, events: int, say: Callable[[str], Any] = print) -> ReplayOutcome:
    partner = Forgetful()
    server = PartnerServer(partner, record=False).start()
    session = requests.Session()
    try:
        body = {"partner_id": PARTNER, "url": server.url, "max_concurrency": 2, "post_concurrency": 5}
        session.post(f"{api}/partners", json=body, timeout=60).raise_for_status()
        since = datetime.now(UTC) - timedelta(seconds=1)
        ids = []
        for i in range(events):
            answer = session.post(
                f"{api}/partners/{PARTNER}/events",
                json={"topic": "transfer.created", "payload": {"n": i}},
                timeout=30,
            )
            answer.raise_for_status()
            ids.append(answer.json()["webhook_id"])
        wait(lambda: partner.count(ids, kept=False) == len(ids), 120, f"{PARTNER}'s deliveries")
        lost = partner.count(ids, kept=False)
        say(f"partner {PARTNER} answered 200 to {lost} webhooks and lost them all; it is fixed, and asks")
        with partner.lock:
            partner.losing = False
        started = time.monotonic()
        window = {"since": since.isoformat(), "until": datetime.now(UTC).isoformat()}
        replay = session.post(f"{api}/partners/{PARTNER}/replay", json=window, timeout=30)
        replay.raise_for_status()
        matched, replay_id = replay.json()["matched"], replay.json()["replay_id"]
        say(f"replay {replay_id}: {matched} webhooks matched, enqueued in the background")
        wait(lambda: partner.count(ids, kept=True) == len(ids), 120, "the replayed webhooks")
        progress = session.get(f"{api}/partners/{PARTNER}/replays/{replay_id}", timeout=30).json()
        say(f"replay {progress['state']}: {progress['enqueued']} of {progress['matched']} enqueued")
        return ReplayOutcome(
            published=len(ids),
            lost=lost,
            matched=matched,
            recovered=partner.count(ids, kept=True),
            seconds=time.monotonic() - started,
        )
    finally:
        server.stop()
