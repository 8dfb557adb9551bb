"""The results recorder's health step: count each partner's attempts of a batch, then act on the counts.

Called with the attempts the recorder has just written (:func:`hookrelay.attempts.log.record_attempts`'s
``observe``). Per partner of the batch: one conditional UpdateItem (:class:`HealthStore.count`, which also
returns the partner's document), then :func:`decide`, then at most one action. Best effort: a partner
whose health cannot be written is logged and skipped; the attempt log is never held up by it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import ValidationError

from hookrelay import naming
from hookrelay.errors import HookrelayError
from hookrelay.health_notice import NoticeKind
from hookrelay.models import AttemptRecord
from hookrelay.partners.health import BatchHealth, summarise
from hookrelay.partners.health_store import HealthStore
from hookrelay.partners.model import Partner
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.health.act import notice_of, pause_partner, publish_notice
from hookrelay.provisioning.health.decide import Notice, Pause, Thresholds, decide

logger = logging.getLogger(__name__)


@dataclass
class HealthWatch:
    ctx: Provisioner

    @property
    def store(self) -> HealthStore:
        return HealthStore(naming.partners_table(self.ctx.stage), self.ctx.clients)

    def observe(self, records: list[AttemptRecord]) -> None:
        """Count and act on every partner of ``records``; errors are logged per partner."""
        store = self.store
        for partner_id, batch in summarise(records).items():
            try:
                self._watch(store, batch)
            except HookrelayError as exc:
                logger.error(
                    "partner health not counted", extra={"partner_id": partner_id, "error": exc.message}
                )

    def _watch(self, store: HealthStore, batch: BatchHealth) -> None:
        counted = store.count(batch)
        if counted is None or counted.document is None:
            return  # deleted meanwhile
        try:
            partner = Partner.model_validate_json(counted.document)
        except ValidationError:
            return
        ctx, now = self.ctx, self.ctx.clock()
        limits = Thresholds.of(partner, ctx.settings)
        action = decide(partner, counted.before, counted.after, batch, limits, now)
        pid, after = partner.partner_id, counted.after
        if isinstance(action, Pause):
            if pause_partner(ctx, partner, action.reason, after, now) is not None:
                try:  # the pause stands (status, reason and time on the partner) even if nobody hears of it
                    publish_notice(ctx, notice_of(ctx, NoticeKind.PAUSED, pid, after, now, action.reason))
                except HookrelayError as exc:
                    logger.error(
                        "partner paused but not announced", extra={"partner_id": pid, "error": exc.message}
                    )
                    return
                store.mark_told(pid, now)  # told: its recovery will be told too
        elif isinstance(action, Notice) and action.kind is NoticeKind.FAILING:
            every = ctx.settings.failing_notice_every_minutes * 60
            if store.claim_failing_notice(pid, now, every):
                try:
                    publish_notice(ctx, notice_of(ctx, NoticeKind.FAILING, pid, after, now))
                except HookrelayError:
                    store.release_failing_notice(pid)  # the next batch of the streak claims it again
                    raise
        elif isinstance(action, Notice):
            publish_notice(ctx, notice_of(ctx, action.kind, pid, after, now))
