"""The provisioner app's results recorder: the shared results queue's batches go into the attempt log."""

from __future__ import annotations

from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from chalice.test import Client

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog, list_deliveries
from hookrelay.models import AttemptRecord, Outcome
from hookrelay.provisioning.context import Provisioner
from tests.support.sqs import sqs_event

from .conftest import APP, STAGE, URL, Failing, aws, load_app

HANDLER_APP = APP.parents[1] / "handler" / "app.py"


def record(n: int = 1) -> AttemptRecord:
    return AttemptRecord(
        webhook_id=f"msg_{n}", partner_id="acme", attempt=1, url=URL,
        at=datetime(2026, 11, 23, tzinfo=UTC), outcome=Outcome.DELIVERED, status_code=204,
    )  # fmt: skip


def test_results_recorder_listens_on_the_results_queue(app_module: ModuleType) -> None:
    # GIVEN the provisioner app, WHEN its event sources are read, THEN record_results reads the results queue
    (source, rollouts, *_) = app_module.app.event_sources
    assert (source.name, source.queue, source.batch_size) == ("record_results", "hookrelay-dev-results", 10)
    assert source.queue == naming.results_queue("dev")
    # AND the rollout worker reads update-code's work queue, one chunk at a time, two workers at most
    assert (rollouts.name, rollouts.queue, rollouts.batch_size) == (
        "rollout_worker",
        "hookrelay-dev-rollouts",
        1,
    )
    assert rollouts.maximum_concurrency == 2


def test_the_handler_app_carries_no_recorder_and_nothing_of_provisioning() -> None:
    # GIVEN the handler app (what every partner's Lambda runs)
    module = load_app(HANDLER_APP, "hookrelay_handler_app_without_recorder")
    source = HANDLER_APP.read_text()
    # THEN it has no event source, no recorder, and imports nothing from hookrelay.provisioning
    assert module.app.event_sources == []
    assert not hasattr(module, "record_results")
    assert "hookrelay.provisioning" not in source


def test_results_recorder_writes_the_attempt_log(
    ctx: Provisioner, app_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the provisioner app writing to this stage's attempt log
    log = AttemptLog(STAGE, clients=ctx.clients)
    monkeypatch.setattr(app_module, "attempt_log", lambda: log)
    # WHEN a results-queue batch reaches record_results
    with Client(app_module.app) as client:
        response = client.lambda_.invoke("record_results", sqs_event([record().model_dump_json()]))
    # THEN nothing failed and the attempt is in the deliveries table
    assert response.payload == {"batchItemFailures": []}
    assert list_deliveries(log, "acme").items == [record()]


def test_a_failed_write_comes_back_alone_and_the_rest_of_the_batch_is_recorded(
    ctx: Provisioner, app_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the recorder (its mapping reports batch item failures), and a table whose first write fails
    ctx.clients.overrides["dynamodb"] = Failing(aws("dynamodb"), "put_item")
    log = AttemptLog(STAGE, clients=ctx.clients)
    monkeypatch.setattr(app_module, "attempt_log", lambda: log)
    event = sqs_event([record(1).model_dump_json(), record(2).model_dump_json()])
    # WHEN a batch of two records reaches record_results
    with Client(app_module.app) as client:
        response = client.lambda_.invoke("record_results", event)
    # THEN only the first is reported failed (SQS retries it alone), and the second is recorded
    assert response.payload == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert [r.webhook_id for r in list_deliveries(log, "acme").items] == ["msg_2"]


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
