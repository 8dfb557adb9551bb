"""Events (issue 14): publish once to every subscribed partner, with idempotency and batches.

- :mod:`.topics`: which event-type patterns accept a topic (pure);
- :mod:`.subscriptions`: the subscription index (pattern -> partners), kept by create/update/delete;
- :mod:`.once`: an event id is published once within the dedup window (conditional write + TTL);
- :mod:`.body`: a partner's webhook body and its size check (shared with ``POST /partners/{id}/events``);
- :mod:`.feed`: ``POST /events`` and ``POST /events/batch`` onto the stage's events queue;
- :mod:`.router`: the events queue's consumer, fanning each event out with SendMessageBatch;
The shared resources (tables, events queue, DLQ, alarm) are in
:mod:`hookrelay.provisioning.resources.event_feed` (resources imports no wing package).
"""
