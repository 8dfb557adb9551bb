"""The rollout worker: one chunk of partners moved to the target code, each result recorded once.

Per partner, four control-plane calls at the rollout's pace (five when the layer changed:
UpdateFunctionConfiguration first): UpdateFunctionCode, PublishVersion (of exactly that code),
UpdateAlias (``live``), DeleteFunction (the version pruning drops). Every one of them waits its turn
(the worker's Lambda client is a :class:`PacedLambda`); the waits in between read GetFunction, which has
its own quota (100/s) and is not metered. A partner already on the target (its record's
``code_key``) is skipped without any Lambda call. A partner made before attempt lines (issue 15: its item
has no ``attempt_filter_at``) first gets its log group's subscription filter to the recorder, once: its
new code writes its attempt records as log lines only. PutSubscriptionFilter has a quota of its own (5
requests per second per account and region): the workers share :data:`FILTERS_PER_SECOND` of it, and a
partner already marked makes no logs call at all. A partner's failure is recorded and the chunk goes on;
a failure of the chunk itself (its results cannot be written, or AWS still throttles after backing off)
raises, so SQS delivers the chunk again and the retry skips every partner already recorded.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from hookrelay import naming
from hookrelay.aws.sqs_event import SqsEvent, batch_response
from hookrelay.errors import HookrelayError
from hookrelay.partners.model import Partner
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.resources.artifact import ResolvedArtifact
from hookrelay.provisioning.resources.attempt_filter import ensure_attempt_filter
from hookrelay.provisioning.resources.function import update_code, wait_until_ready
from hookrelay.provisioning.resources.versions import (
    live_version,
    migrate_mapping,
    move_live,
    prune,
    publish_version,
)
from hookrelay.provisioning.rollouts.model import Chunk, Outcome, PartnerResult
from hookrelay.provisioning.rollouts.pace import FAILURES, Pace, paced, paced_clients, throttled
from hookrelay.provisioning.rollouts.store import RolloutStore

logger = logging.getLogger(__name__)
FILTERS_PER_SECOND = 4.0  # PutSubscriptionFilter: 5/s per account and region; one left to creates


def work(event: dict[str, Any], ctx: Provisioner) -> dict[str, list[dict[str, str]]]:
    """Handle a batch of work messages: an unreadable one is dropped (logged), a failed chunk reported
    as a batch item failure (the mapping has ReportBatchItemFailures on), so SQS retries it alone.

    Each worker spends its share of the rollout's rate (``rollout_calls_per_second / rollout_workers``)."""
    settings = ctx.settings
    pace = Pace(settings.rollout_calls_per_second / settings.rollout_workers, ctx.clients.sleep)
    filters = Pace(FILTERS_PER_SECOND / settings.rollout_workers, ctx.clients.sleep)
    ctx = replace(ctx, clients=paced_clients(ctx.clients, pace))
    failed: list[str] = []
    for message in SqsEvent.model_validate(event).records:
        try:
            run_chunk(ctx, Chunk.model_validate_json(message.body), filters)
        except ValidationError as exc:
            logger.error(
                "unreadable rollout chunk dropped",
                extra={"message_id": message.message_id, "error": str(exc)},
            )
        except FAILURES as exc:
            error = exc.message if isinstance(exc, HookrelayError) else str(exc)
            logger.error(
                "rollout chunk failed; SQS retries it",
                extra={"message_id": message.message_id, "error": error},
            )
            failed.append(message.message_id)
    return batch_response(failed)


def run_chunk(ctx: Provisioner, chunk: Chunk, filters: Pace | None = None) -> list[PartnerResult]:
    store = RolloutStore(ctx.stage, ctx.clients)
    recorded = store.outcomes(chunk.rollout_id, chunk.partner_ids)
    todo = [p for p in dict.fromkeys(chunk.partner_ids) if recorded.get(p) in (None, Outcome.FAILED)]

    def one(partner_id: str) -> PartnerResult:
        if chunk.rollback_of:
            result = roll_back(ctx, partner_id, store.result(chunk.rollback_of, partner_id))
        else:
            target = ResolvedArtifact(
                bucket=ctx.settings.bucket, code_key=chunk.code_key, layers=chunk.layers
            )
            result = roll_partner(ctx, partner_id, target, filters)
        store.record(chunk.rollout_id, result)
        return result

    with ThreadPoolExecutor(max_workers=ctx.settings.rollout_threads) as pool:
        results = list(pool.map(one, todo))
    logger.info(
        "rollout chunk done",
        extra={
            "rollout_id": chunk.rollout_id,
            "partners": len(todo),
            "already": len(chunk.partner_ids) - len(todo),
        },
    )
    return results


def roll_partner(
    ctx: Provisioner, partner_id: str, target: ResolvedArtifact, filters: Pace | None = None
) -> PartnerResult:
    """Move one partner's live alias to a new version running ``target``; its failure is its result.
    Its log group is subscribed to the recorder first, if it never was (``filters`` paces those calls)."""
    code_key, wait = target.code_key, ctx.clients.sleep
    try:
        partner = subscribe_once(ctx, ctx.partners.get(partner_id), filters)
        if partner.code_key == code_key:
            return PartnerResult(partner_id=partner_id, outcome=Outcome.SKIPPED)
        name = naming.partner_function(ctx.stage, partner_id)
        previous = live_version(name, ctx.clients)
        sha = paced(f"update {name}", lambda: update_code(name, target, ctx.clients), wait)
        wait_until_ready(name, ctx.clients)
        version = paced(f"publish {name}", lambda: publish_version(name, ctx.clients, sha), wait)
        _, made = paced(f"move {name}:live", lambda: move_live(name, version, ctx.clients), wait)
        if made:  # a partner from before the alias: its mapping moves to the alias now
            migrate_mapping(name, ctx.clients)
        keep = ctx.settings.keep_versions
        paced(f"prune {name}", lambda: prune(name, version, keep, version, ctx.clients), wait)
        ctx.partners.put(partner.touched(ctx.clock(), code_key=code_key))
    except FAILURES as exc:
        return _failed(partner_id, exc)
    return _moved(partner_id, version, previous, partner.code_key, sha)


def subscribe_once(ctx: Provisioner, partner: Partner, filters: Pace | None) -> Partner:
    """A partner made before attempt lines: its log group's subscription filter, then the mark on its item
    (so no later rollout calls CloudWatch Logs for it). A marked partner: nothing, no call."""
    if partner.attempt_filter_at is not None:
        return partner
    group, wait = naming.partner_log_group(ctx.stage, partner.partner_id), ctx.clients.sleep

    def subscribe() -> None:
        if filters is not None:
            filters.wait()
        ensure_attempt_filter(group, ctx.recorder_arn, ctx.clients)

    paced(f"subscribe {group}", subscribe, wait)
    return ctx.partners.put(partner.touched(ctx.clock(), attempt_filter_at=ctx.clock()))


def roll_back(ctx: Provisioner, partner_id: str, done: PartnerResult | None) -> PartnerResult:
    """Move live back to the version it had before ``done`` (one UpdateAlias); skipped when that rollout
    did not move the partner, or live is no longer the version it made."""
    name, wait = naming.partner_function(ctx.stage, partner_id), ctx.clients.sleep
    try:
        current = live_version(name, ctx.clients)
        if done is None or done.previous_version is None or current != done.version:
            return PartnerResult(partner_id=partner_id, outcome=Outcome.SKIPPED, version=current)
        back = done.previous_version
        paced(f"move {name}:live back", lambda: move_live(name, back, ctx.clients), wait)
        partner = ctx.partners.get(partner_id)
        ctx.partners.put(partner.touched(ctx.clock(), code_key=done.previous_code_key))
    except FAILURES as exc:
        return _failed(partner_id, exc)
    return _moved(partner_id, back, current, partner.code_key)


def _moved(
    partner_id: str, version: int, previous: int | None, previous_key: str | None, sha: str | None = None
) -> PartnerResult:
    return PartnerResult(
        partner_id=partner_id,
        outcome=Outcome.SUCCEEDED,
        version=version,
        previous_version=previous,
        previous_code_key=previous_key,
        code_sha256=sha,
    )


def _failed(partner_id: str, exc: Exception) -> PartnerResult:
    """A partner's failure is its result; throttling that outlasted the backoff fails the whole chunk
    instead (SQS retries it later, from the partners not yet recorded)."""
    if throttled(exc):
        raise exc
    message = exc.message if isinstance(exc, HookrelayError) else str(exc)
    logger.warning("rollout step failed", extra={"partner_id": partner_id, "error": message})
    return PartnerResult(partner_id=partner_id, outcome=Outcome.FAILED, error=message)
