"""``POST /events`` and ``POST /events/batch``: an event published once, for every subscribed partner.

The answer (202 ``{"event_id", "topic"}``) comes after one durable write: the event on the stage-wide
events queue (``hookrelay-<stage>-events``), from which the router fans it out. An event with an ``id``
is claimed first (:mod:`hookrelay.provisioning.events.once`): an id seen within the window answers
200 with the original's answer and ``"duplicate": true``, and is not enqueued again.

A batch takes up to :data:`MAX_BATCH` events and answers each one in order: accepted (202), duplicate
(200) or its own 4xx (400 invalid, 413 too big, 409 being published); one bad event never rejects the
others. The accepted ones go to the queue with SendMessageBatch, ten a request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hookrelay import naming
from hookrelay.aws import sqs as queues
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS
from hookrelay.errors import DependencyUnavailable, HookrelayError, InvalidInput, validation_message
from hookrelay.models import new_webhook_id
from hookrelay.partners.ordering import is_fifo_queue
from hookrelay.provisioning.events.body import MAX_EVENT_BYTES, check_routable
from hookrelay.provisioning.events.model import (
    BatchAnswer,
    BatchItem,
    BatchRequest,
    Event,
    EventAccepted,
    EventRequest,
)
from hookrelay.provisioning.events.once import Once, event_key
from hookrelay.provisioning.events.settings import events_settings

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SQS_BATCH = 10

logger = logging.getLogger(__name__)


@dataclass
class EventFeed:
    stage: str
    clients: Clients
    max_event_bytes: int = MAX_EVENT_BYTES
    once: Once | None = None  # default: the stage's, with HOOKRELAY_EVENTS_DEDUP_HOURS as its window
    ledger: Once = field(init=False)  # the ids claimed, published and seen

    def __post_init__(self) -> None:
        window = timedelta(hours=events_settings().events_dedup_hours)
        self.ledger = self.once or Once.of_stage(self.stage, self.clients, window)

    @property
    def queue_url(self) -> str:
        """The events queue's URL, looked up once per endpoint (a queue's URL never changes)."""
        return self._url(naming.events_queue(self.stage))

    @property
    def fifo_queue_url(self) -> str:
        """The FIFO events queue's URL (events with an ``ordering_key``), looked up once per endpoint."""
        return self._url(naming.events_fifo_queue(self.stage))

    def _url(self, name: str) -> str:
        return queues.cached_queue_url(name, self.clients.sqs)

    def publish(self, request: EventRequest) -> EventAccepted:
        """One event: claimed (if it has an id), enqueued, answered; its error raised."""
        errors: dict[int, HookrelayError] = {}
        item = self._publish_all([request.model_dump(exclude_none=True)], errors)[0]
        if errors:
            raise errors[0]
        return EventAccepted(event_id=item.event_id or "", topic=item.topic or "", duplicate=item.duplicate)

    def publish_batch(self, batch: BatchRequest) -> BatchAnswer:
        """Every event answered in order; one bad event never rejects the others."""
        results = self._publish_all(batch.events, {})
        counts = [sum(1 for r in results if r.status == s) for s in (202, 200)]
        return BatchAnswer(
            accepted=counts[0], duplicates=counts[1], rejected=len(results) - sum(counts), results=results
        )

    def _publish_all(self, raws: list[Any], errors: dict[int, HookrelayError]) -> list[BatchItem]:
        """Each raw event's answer, in order; ``errors`` gets each failed one's error by index.

        An id given twice in one batch: the second is a duplicate of the first (one claim, one enqueue).
        """
        results: list[BatchItem] = []
        pending: list[tuple[BatchItem, Event, str | None]] = []  # accepted so far: (answer, event, claim)
        seen: dict[str, BatchItem] = {}
        for index, raw in enumerate(raws):
            try:
                event, given = self._checked(raw)
                original = self._original(event, given, seen)
            except HookrelayError as exc:
                errors[index] = exc
                results.append(
                    BatchItem(index=index, status=exc.status_code, error=exc.code, message=exc.message)
                )
                continue
            if original is not None:
                results.append(BatchItem(index=index, status=200, duplicate=True, **_ids(original)))
                continue
            item = BatchItem(index=index, status=202, event_id=event.id, topic=event.topic)
            results.append(item)
            seen[event.id] = item
            pending.append((item, event, event_key(event.id) if given else None))
        self._enqueue(pending, errors)
        for i, item in enumerate(results):  # a repeat of an id whose first copy failed failed with it
            first = seen.get(item.event_id or "")
            if item.duplicate and first is not None and first.error is not None:
                results[i] = first.model_copy(update={"index": item.index})
                errors[item.index] = errors[first.index]
        return results

    def _checked(self, raw: Any) -> tuple[Event, bool]:
        """The event of one raw batch entry (400/413 with the reason), and whether its id was given."""
        if not isinstance(raw, dict):
            raise InvalidInput("an event must be a JSON object with 'topic' and 'payload'")
        try:
            request = EventRequest.model_validate(raw)
        except ValidationError as exc:
            raise InvalidInput(validation_message(exc, limit=1)) from exc
        event = Event(
            id=request.id or new_webhook_id(),
            topic=request.topic,
            payload=request.payload,
            ordering_key=request.ordering_key,
        )
        check_routable(event.id, event.topic, event.payload, self.max_event_bytes, event.ordering_key)
        return event, request.id is not None

    def _original(self, event: Event, given: bool, seen: dict[str, BatchItem]) -> dict[str, Any] | None:
        """The answer an earlier publish of this id got (None: publish it now, it is claimed)."""
        if not given:
            return None
        first = seen.get(event.id)
        if first is not None:
            return first.model_dump(include={"event_id", "topic"})
        return self.ledger.claim(event_key(event.id))

    def _enqueue(
        self, pending: list[tuple[BatchItem, Event, str | None]], errors: dict[int, HookrelayError]
    ) -> None:
        """Send the accepted events, ten a request; a failed send is that event's 503 and its claim goes.
        Events with an ``ordering_key`` go to the FIFO events queue (group = the key), the others to the
        standard one."""
        if not pending:
            return
        keyed = [i for i, (_, event, _) in enumerate(pending) if event.ordering_key is not None]
        keyless = [i for i, (_, event, _) in enumerate(pending) if event.ordering_key is None]
        failed: dict[int, str] = {}
        for indexes, url_of in ((keyless, lambda: self.queue_url), (keyed, lambda: self.fifo_queue_url)):
            if indexes:
                failed.update(self._send([pending[i][1] for i in indexes], indexes, url_of))
        for i, (item, event, key) in enumerate(pending):
            if i in failed:
                errors[item.index] = DependencyUnavailable(failed[i])
                item.status, item.error, item.message = 503, DependencyUnavailable.code, failed[i]
                if key is not None:
                    self.ledger.release(key)
                continue
            if key is not None:
                self.ledger.done(key, {"event_id": event.id, "topic": event.topic})
            logger.info("event published", extra={"webhook_id": event.id, "topic": event.topic})

    def _send(self, events: list[Event], indexes: list[int], url_of: Callable[[], str]) -> dict[int, str]:
        """Send ``events`` (``indexes``: their places in the pending list) to one events queue, ten a
        request; the places that failed, with the reason. On the FIFO queue each event carries its key as
        its group and its id as its deduplication id (SQS keeps a request's entries in order per group), and
        once an event of a key is refused, its key's events in the later requests of this publish are not
        sent (503 too), so they cannot overtake it."""
        reason = "the events queue did not take it: retry"
        try:
            url = url_of()
        except HookrelayError as exc:
            return dict.fromkeys(indexes, exc.message)
        fifo = is_fifo_queue(url)
        failed: dict[int, str] = {}
        stopped: set[str | None] = set()  # keys with a refused event: their later events are not sent
        for start in range(0, len(events), SQS_BATCH):
            places = zip(indexes[start : start + SQS_BATCH], events[start : start + SQS_BATCH], strict=True)
            chunk: list[tuple[int, Event]] = []
            for place, event in places:
                if fifo and event.ordering_key in stopped:
                    failed[place] = reason
                else:
                    chunk.append((place, event))
            if not chunk:
                continue
            entries = [_entry(str(j), event, fifo) for j, (_, event) in enumerate(chunk)]
            try:
                response = self.clients.sqs.send_message_batch(QueueUrl=url, Entries=entries)
                refused = {int(f["Id"]) for f in response.get("Failed", [])}
            except AWS_ERRORS:
                refused = set(range(len(chunk)))
            for j in sorted(refused):
                place, event = chunk[j]
                failed[place] = reason
                stopped.add(event.ordering_key)
        return failed


def _entry(entry_id: str, event: Event, fifo: bool) -> SendMessageBatchRequestEntryTypeDef:
    """One SendMessageBatch entry for an event; on the FIFO queue with its group and deduplication id."""
    entry: SendMessageBatchRequestEntryTypeDef = {
        "Id": entry_id,
        "MessageBody": event.model_dump_json(exclude_none=True),
    }
    if fifo:
        entry["MessageGroupId"] = event.ordering_key or ""
        entry["MessageDeduplicationId"] = event.id
    return entry


def _ids(original: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": original.get("event_id"), "topic": original.get("topic")}
