"""Partner queue URLs for the router, with no GetQueueUrl per partner.

Every queue of a stage is made by the provisioner with the same account, region and endpoint, and an SQS
queue URL is ``<endpoint>/<account>/<name>``: the partner queue's URL is the events queue's with the
last path segment replaced. The events queue's URL is looked up once per router (one GetQueueUrl per
cold start), so fanning out to 10,000 partners costs no lookup at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hookrelay import naming
from hookrelay.aws import sqs as queues
from hookrelay.aws.clients import Clients
from hookrelay.partners.ordering import queue_name


def sibling_url(queue_url: str, name: str) -> str:
    """The URL of the queue called ``name`` next to (same endpoint, account, region) ``queue_url``."""
    return f"{queue_url.rstrip('/').rsplit('/', 1)[0]}/{name}"


@dataclass
class PartnerQueues:
    stage: str
    clients: Clients
    _base: str | None = field(default=None, repr=False)

    def url(self, partner_id: str, ordering: str = "none") -> str:
        """The partner queue's URL; an ordered partner's (``ordering`` "fifo") is its ``.fifo`` queue."""
        if self._base is None:
            self._base = queues.lookup_queue_url(naming.events_queue(self.stage), self.clients.sqs)
        return sibling_url(self._base, queue_name(self.stage, partner_id, ordering))
