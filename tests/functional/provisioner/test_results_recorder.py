"""The handler app's results recorder: the shared results queue's batches go into the attempt log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog, list_deliveries
from hookrelay.models import AttemptRecord, Outcome
from hookrelay.provisioning.context import Provisioner
from tests.support.sqs import sqs_event

from .conftest import STAGE, URL, load_app

HANDLER_APP = Path(__file__).resolve().parents[3] / "handler" / "app.py"


def load_handler_app() -> Any:
    return load_app(HANDLER_APP, "hookrelay_handler_app_for_results")


def test_results_recorder_listens_on_the_results_queue() -> None:
    # GIVEN the handler app, WHEN its event sources are read, THEN record_results reads the results queue
    (source,) = load_handler_app().app.event_sources
    assert (source.name, source.queue, source.batch_size) == ("record_results", "hookrelay-dev-results", 10)
    assert source.queue == naming.results_queue("dev")


def test_results_recorder_writes_the_attempt_log(ctx: Provisioner, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the handler app writing to this stage's attempt log
    module = load_handler_app()
    log = AttemptLog(STAGE, clients=ctx.clients)
    monkeypatch.setattr(module, "attempt_log", lambda: log)
    record = AttemptRecord(
        webhook_id="msg_1", partner_id="acme", attempt=1, url=URL,
        at=datetime(2026, 11, 23, tzinfo=UTC), outcome=Outcome.DELIVERED, status_code=204,
    )  # fmt: skip
    # WHEN a results-queue batch reaches record_results
    with Client(module.app) as client:
        response = client.lambda_.invoke("record_results", sqs_event([record.model_dump_json()]))
    # THEN nothing failed and the attempt is in the deliveries table
    assert response.payload == {"batchItemFailures": []}
    assert list_deliveries(log, "acme").items == [record]


def test_marking_a_gone_partner_never_overwrites_a_newer_change_nor_revives_a_deleted_one(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a partner read by the recorder, then changed by an operator before the recorder writes
    make_partner("acme")
    partners = ctx.partners
    stale = partners.get("acme")
    partners.put(stale.touched(url="https://hooks.acme.example/v2"))
    # THEN the stale write is refused and the operator's change stays
    assert partners.replace(stale, stale.touched(gone_at=stale.created_at)) is False
    assert str(partners.get("acme").url) == "https://hooks.acme.example/v2"
    # AND once the partner is deleted, a write based on an old read does not bring it back
    current = partners.get("acme")
    partners.delete("acme")
    assert partners.replace(current, current.touched(gone_at=current.created_at)) is False
    assert partners.find("acme") is None
