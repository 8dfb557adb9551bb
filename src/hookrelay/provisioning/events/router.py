"""The router: a batch of published events from the events queue, fanned out to every subscribed partner.

For each event the subscribers come from the index (:class:`SubscriptionIndex`: one Query per candidate
pattern of its topic, once per topic per batch). Each partner gets a :class:`WebhookMessage` whose id,
and so ``webhook-id``, is the event id, built and size-checked by the same code as
``POST /partners/{id}/events`` (:mod:`hookrelay.provisioning.events.body`). The events of a batch bound
for one partner queue travel together: one SendMessageBatch per partner per batch (up to ten events), sent
in parallel over ``threads`` partner queues.

Decide, then do: :func:`plan` turns events and their subscribers into per-queue sends (pure);
:meth:`Router.route` carries them out. An event is acknowledged only when every one of its sends is
confirmed; otherwise it is a batch item failure, and its next receive sends it to every subscriber again
(the same webhook id: a partner that got it twice can tell). An ordered partner (its index rows say
``ordering`` "fifo") gets its ``.fifo`` queue, group = the event's ``ordering_key`` (else the
partner-wide group), deduplication id = the event id (so a re-sent event is dropped there for 5 minutes).
Events with an ordering key come from the FIFO events queue (``hookrelay-<stage>-events.fifo``, group =
the key; the consumer ``route_ordered_events``): one batch per group at a time, in publish order, each
group's events sent in batch order, and a failure reported as Lambda expects on FIFO
(:func:`fifo_failures`), so a key's events reach every ordered partner in publish order
(docs/ordering.md). A partner whose queue is gone (deleted
between the index read and the send) is skipped. A record that is not an event fails alone (on the FIFO
queue, with the later records of its group) and, after the queue's ``maxReceiveCount``, waits in the
events DLQ.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, MISSING_QUEUE_CODES, has_code
from hookrelay.errors import HookrelayError
from hookrelay.models import WebhookMessage
from hookrelay.partners.ordering import fifo_send_params, is_fifo, is_fifo_queue
from hookrelay.provisioning.events.body import MAX_EVENT_BYTES, webhook_body, webhook_message
from hookrelay.provisioning.events.model import Event
from hookrelay.provisioning.events.queues import PartnerQueues
from hookrelay.provisioning.events.settings import events_settings
from hookrelay.provisioning.events.subscriptions import SubscriptionIndex

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

logger = logging.getLogger(__name__)
SEND_TRIES = 2  # a send's failed entries are retried once at once; then their events fail the batch

Keep = Callable[[Sequence[WebhookMessage]], None]


def keep_nothing(messages: Sequence[WebhookMessage]) -> None:
    """The default :data:`Keep` (tests, the benchmark); the app passes ``MessageStore.keep``."""


@dataclass(frozen=True)
class Send:
    """One SendMessageBatch: a partner queue and its messages, each tagged with its record's index."""

    partner_id: str
    queue_url: str
    messages: tuple[tuple[int, WebhookMessage], ...]
    ordering: str = "none"


def plan(
    events: Mapping[int, Event],
    subscribers: Mapping[str, Sequence[str]],
    queue_url: Callable[[str], str],
    orderings: Mapping[str, str] | None = None,
) -> list[Send]:
    """Per partner queue, the messages of the events (by record index) its partner subscribes to;
    ``orderings``: the partners that are not "none" (an ordered one's messages keep the ordering key)."""
    orderings = orderings or {}
    by_partner: dict[str, list[tuple[int, WebhookMessage]]] = {}
    for index, event in sorted(events.items()):
        for pid in subscribers.get(event.topic, ()):
            key = event.ordering_key if is_fifo(orderings.get(pid, "none")) else None
            message = webhook_message(event.id, pid, event.topic, event.payload, event.created_at, key)
            by_partner.setdefault(pid, []).append((index, message))
    return [
        Send(pid, queue_url(pid), tuple(messages), orderings.get(pid, "none"))
        for pid, messages in sorted(by_partner.items())
    ]


def from_fifo_queue(records: Sequence[Mapping[str, Any]]) -> bool:
    """True for a batch of the FIFO events queue (``hookrelay-<stage>-events.fifo``)."""
    return any(is_fifo_queue(str(record.get("eventSourceARN", ""))) for record in records)


def fifo_failures(
    records: Sequence[Mapping[str, Any]], events: Mapping[int, Event], failed: set[int]
) -> set[int]:
    """Lambda's rule for a FIFO batch: once a record of a message group fails, it and every later record
    of that group are reported failed, so the group comes back from its first failure, in order. The
    group is the record's ``MessageGroupId`` (the event's ordering key)."""
    stopped: set[str] = set()
    kept: set[int] = set()
    for i, record in enumerate(records):
        key = events[i].ordering_key if i in events else None
        group = str(record.get("attributes", {}).get("MessageGroupId") or key or "")
        if i in failed or group in stopped:
            stopped.add(group)
            kept.add(i)
    return kept


@dataclass
class Router:
    clients: Clients
    index: SubscriptionIndex
    queues: PartnerQueues
    keep: Keep = (
        keep_nothing  # the message store's keep (provisioner app): each fan-out batch, before sending
    )
    threads: int = 16
    max_event_bytes: int = MAX_EVENT_BYTES
    requests: int = field(default=0)  # SendMessageBatch requests made (the benchmark's count)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of_stage(
        cls, stage: str, clients: Clients, max_event_bytes: int = MAX_EVENT_BYTES, keep: Keep = keep_nothing
    ) -> Router:
        """The stage's router (threads from ``HOOKRELAY_ROUTER_THREADS``); ``keep``: the message store's."""
        threads = events_settings().router_threads
        index, queues = SubscriptionIndex.of_stage(stage, clients), PartnerQueues(stage, clients)
        return cls(clients, index, queues, keep, threads, max_event_bytes)

    def route(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """An SQS event of the events queue in, ``batchItemFailures`` out."""
        records: list[dict[str, Any]] = list(event.get("Records", []))
        failed: set[int] = set()
        events: dict[int, Event] = {}
        for i, record in enumerate(records):
            try:
                events[i] = Event.model_validate_json(record.get("body", ""))
            except ValidationError as exc:
                logger.error("not an event", extra={"message_id": record.get("messageId"), "error": str(exc)})
                failed.add(i)
        try:
            found = {topic: self.index.subscriptions(topic) for topic in {e.topic for e in events.values()}}
            subscribers = {topic: sorted(partners) for topic, partners in found.items()}
            orderings = {pid: o for partners in found.values() for pid, o in partners.items() if o != "none"}
            url = lambda pid: self.queues.url(pid, orderings.get(pid, "none"))  # noqa: E731
            sends = plan(events, subscribers, url, orderings)
            self.keep([message for send in sends for _, message in send.messages])
        except HookrelayError as exc:  # the index or the store unavailable: every event comes back
            logger.error("cannot route this batch", extra={"error": exc.message, "events": len(events)})
            failed.update(events)
            sends = []
        with ThreadPoolExecutor(max_workers=max(1, min(self.threads, len(sends)))) as pool:
            for undelivered in pool.map(self._send, sends):
                failed.update(undelivered)
        if from_fifo_queue(records):
            failed = fifo_failures(records, events, failed)
        partners = Counter(index for send in sends for index, _ in send.messages)
        for i, ev in sorted(events.items()):
            outcome = "failed" if i in failed else "routed"
            logger.info(
                f"event {outcome}", extra={"webhook_id": ev.id, "topic": ev.topic, "partners": partners[i]}
            )
        return {
            "batchItemFailures": [{"itemIdentifier": records[i].get("messageId", "")} for i in sorted(failed)]
        }

    def _send(self, send: Send) -> set[int]:
        """Send one partner's messages; the record indexes whose message it did not confirm."""
        entries: list[SendMessageBatchRequestEntryTypeDef] = []
        unsendable: set[int] = set()
        for index, message in send.messages:
            try:
                body = webhook_body(message, self.max_event_bytes)
                entry: SendMessageBatchRequestEntryTypeDef = {"Id": str(index), "MessageBody": body}
                fifo = fifo_send_params(send.ordering, message.id, message.ordering_key)
                if fifo:  # an ordered partner: its group, and the event id as deduplication id
                    entry["MessageGroupId"] = fifo["MessageGroupId"]
                    entry["MessageDeduplicationId"] = fifo["MessageDeduplicationId"]
                entries.append(entry)
            except HookrelayError as exc:  # checked at publish (the longest partner id): only a changed limit
                logger.error("webhook too big", extra={"partner_id": send.partner_id, "error": exc.message})
                unsendable.add(index)
        if not entries:
            return unsendable
        for _ in range(SEND_TRIES):
            with self._lock:
                self.requests += 1
            try:
                response = self.clients.sqs.send_message_batch(QueueUrl=send.queue_url, Entries=entries)
            except AWS_ERRORS as exc:
                if has_code(exc, *MISSING_QUEUE_CODES):  # the partner was deleted since the index read
                    logger.warning("partner queue gone: skipped", extra={"partner_id": send.partner_id})
                    return unsendable
                logger.warning("send failed", extra={"partner_id": send.partner_id, "error": str(exc)})
                continue
            retry = {failure["Id"] for failure in response.get("Failed", [])}
            entries = [entry for entry in entries if entry["Id"] in retry]
            if not entries:
                return unsendable
        return unsendable | {int(entry["Id"]) for entry in entries}
