"""The provisioner app's SQS consumers, said once: which queue each reads, its batch size and its
maximum concurrency. ``provisioner/app.py`` makes ``app.<name>`` of each (Chalice deploys the mapping
from it); the local bootstrap makes the same functions and mappings on the embedded AWS
(``hookrelay-<stage>-<name with dashes>``), so a consumer runs locally as it runs deployed. Every mapping
reports batch item failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hookrelay import naming


@dataclass(frozen=True)
class Consumer:
    name: str  # the app's function: app.<name>
    queue: Callable[[str], str]  # the queue's name, of the stage
    batch_size: int
    maximum_concurrency: int | None = None  # None: as many as SQS's poller scales to

    @property
    def handler(self) -> str:
        return f"app.{self.name}"

    def function(self, stage: str) -> str:
        return f"{naming.prefix(stage)}-{self.name.replace('_', '-')}"


CONSUMERS = (
    Consumer("record_results", naming.results_queue, 10),
    Consumer("rollout_worker", naming.rollout_queue, 1, 2),  # one chunk of 25 partners per invocation
    Consumer("replay_worker", naming.replay_queue, 1, 2),  # one replay step per invocation
    Consumer("route_events", naming.events_queue, 10),
    Consumer("route_ordered_events", naming.events_fifo_queue, 10),  # FIFO: a group's batches in order
)
