"""Starting a rollout (``POST /update-code``), reading it (``GET /rollouts/{id}``), continuing a canary.

Start answers at once (202): it resolves the target once, writes the rollout's header and sends the
partners to the work queue in chunks; the rollout worker does the rest. At 10,000 partners that is a
scan of the partners table and 40 SendMessageBatch calls (chunks of 25), a few seconds in all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hookrelay import naming
from hookrelay.aws.sqs import lookup_queue_url, send_batch
from hookrelay.errors import Conflict, DependencyUnavailable, InvalidInput
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.resources.artifact import ResolvedArtifact, latest_artifact, prepare
from hookrelay.provisioning.rollouts.model import (
    Chunk,
    Header,
    Outcome,
    RolloutRequest,
    RolloutState,
    check_rollout_id,
    new_rollout_id,
)
from hookrelay.provisioning.rollouts.store import COUNTS, RolloutStore, state

logger = logging.getLogger(__name__)
SQS_BATCH = 10


def resolve_target(ctx: Provisioner) -> ResolvedArtifact:
    """THE one read of what a rollout moves partners to, once at its start: the newest build, its layer
    published (once for every partner), passed on to the workers in each chunk."""
    s = ctx.settings
    return prepare(latest_artifact(s.bucket, ctx.clients), s.stage, ctx.clients, s.keep_layer_versions)


def start_rollout(ctx: Provisioner, request: RolloutRequest) -> RolloutState:
    target = resolve_target(ctx)
    code_key = target.code_key
    wanted = request.partner_ids
    ids = list(dict.fromkeys(wanted)) if wanted is not None else [p.partner_id for p in ctx.partners.all()]
    canary = min(request.canary, len(ids)) if request.canary else None
    now = ctx.clock()
    header = Header(
        rollout_id=new_rollout_id(now), code_key=code_key, total=len(ids), created_at=now, canary=canary
    )
    first, rest = (ids[:canary], ids[canary:]) if canary else (ids, [])
    store = RolloutStore(ctx.stage, ctx.clients)
    if rest:
        header = header.model_copy(update={"held": len(rest)})
        store.hold(header.rollout_id, _chunks(ctx, header, rest, target.layers))
    store.create(header)
    _send(ctx, _chunks(ctx, header, first, target.layers))
    logger.info(
        "rollout started",
        extra={"rollout_id": header.rollout_id, "code_key": code_key, "partners": len(ids), "canary": canary},
    )
    return state(header, dict.fromkeys(COUNTS, 0), [], None)


def continue_rollout(ctx: Provisioner, rollout_id: str) -> RolloutState:
    """Send the partners a canary held back (the operator has checked the canary's partners)."""
    store = RolloutStore(ctx.stage, ctx.clients)
    header = store.header(check_rollout_id(rollout_id))
    if not header.held:
        raise Conflict(f"rollout {rollout_id!r} holds nothing back: it is not a canary, or it continued")
    held = store.held(rollout_id)
    _send(ctx, held)
    store.release(header, len(held))
    logger.info("rollout continued", extra={"rollout_id": rollout_id, "partners": header.held})
    return state(header.model_copy(update={"held": 0}), store.counts(rollout_id), [], None)


def rollback_rollout(ctx: Provisioner, rollout_id: str) -> RolloutState:
    """A new rollout moving each partner that rollout moved back to the version live had before it
    (one UpdateAlias per partner; a partner changed since, or never moved, is skipped)."""
    store = RolloutStore(ctx.stage, ctx.clients)
    original = store.header(check_rollout_id(rollout_id))
    ids: list[str] = []
    cursor: str | None = ""
    while cursor is not None:
        page, cursor = store.page(rollout_id, 1000, cursor or None, Outcome.SUCCEEDED)
        ids += [r.partner_id for r in page]
    now = ctx.clock()
    header = Header(
        rollout_id=new_rollout_id(now), code_key=original.code_key, total=len(ids), created_at=now,
        rollback_of=rollout_id,
    )  # fmt: skip
    store.create(header)
    _send(ctx, _chunks(ctx, header, ids))
    logger.info(
        "rollback started", extra={"rollout_id": header.rollout_id, "of": rollout_id, "partners": len(ids)}
    )
    return state(header, dict.fromkeys(COUNTS, 0), [], None)


def rollout_state(ctx: Provisioner, rollout_id: str, query: Mapping[str, Any], limit: int) -> RolloutState:
    """Counts, status and one page of per-partner results (``?outcome=failed`` for failures only)."""
    store = RolloutStore(ctx.stage, ctx.clients)
    header = store.header(check_rollout_id(rollout_id))
    raw = query.get("outcome")
    try:
        only = Outcome(raw) if raw is not None else None
    except ValueError as exc:
        raise InvalidInput(f"outcome must be one of {', '.join(o.value for o in Outcome)}") from exc
    results, cursor = store.page(rollout_id, limit, query.get("cursor"), only)
    return state(header, store.counts(rollout_id), results, cursor)


def _chunks(ctx: Provisioner, header: Header, ids: list[str], layers: tuple[str, ...] = ()) -> list[Chunk]:
    size = ctx.settings.rollout_chunk_size
    return [
        Chunk(
            rollout_id=header.rollout_id,
            code_key=header.code_key,
            layers=layers,
            partner_ids=ids[i : i + size],
            rollback_of=header.rollback_of,
        )
        for i in range(0, len(ids), size)
    ]


def _send(ctx: Provisioner, chunks: list[Chunk]) -> None:
    """Every chunk onto the work queue (a batch entry SQS refuses is sent once more, then it is an error)."""
    url = lookup_queue_url(naming.rollout_queue(ctx.stage), ctx.clients.sqs)
    for start in range(0, len(chunks), SQS_BATCH):
        bodies = [c.model_dump_json() for c in chunks[start : start + SQS_BATCH]]
        failed = send_batch(url, bodies, ctx.clients.sqs)
        if failed:
            failed = [failed[i] for i in send_batch(url, [bodies[i] for i in failed], ctx.clients.sqs)]
        if failed:
            raise DependencyUnavailable(
                f"could not queue {len(failed)} chunks of the rollout; start it again"
            )
