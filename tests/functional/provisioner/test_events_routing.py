"""Publish once, route by topic (issue 14 item 1): POST /events, then the router over the events queue.

Partners are created by the provisioner on moto (so the subscription index is kept as in production); the
events queue is read as Lambda's mapping would, and the router's answer acknowledged the same way.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.errors import DependencyUnavailable
from hookrelay.partners.update import PartnerUpdate
from hookrelay.provisioning.api import Api
from hookrelay.provisioning.changes import disable_partner, update_partner
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.events.feed import EventFeed
from hookrelay.provisioning.events.model import EventRequest
from hookrelay.provisioning.events.router import Router
from hookrelay.provisioning.lifecycle import delete_partner
from hookrelay.provisioning.resources.shared import ensure_shared

from .conftest import Failing, aws
from .events_support import acknowledge, partner_messages, queue_url, queued_events, receive_events
from .test_api import call

SUBSCRIPTIONS = {"wild": ["invoice.*"], "exact": ["invoice.paid"], "other": ["customer.created"], "all": []}


@pytest.fixture
def partners(make_partner: Any) -> dict[str, Any]:
    return {pid: make_partner(pid, event_types=types) for pid, types in SUBSCRIPTIONS.items()}


def route(ctx: Provisioner, router: Router | None = None, visibility: int = 30) -> dict[str, Any]:
    """One router invocation over what the events queue holds; the answer, its records acknowledged."""
    event = receive_events(ctx, visibility)
    answer = (router or Router.of_stage(ctx.stage, ctx.clients)).route(event)
    acknowledge(ctx, event, answer)
    return answer


def test_an_event_reaches_exactly_the_partners_whose_types_accept_it(
    http: Any, ctx: Provisioner, partners: dict[str, Any]
) -> None:
    # GIVEN partners with ["invoice.*"], ["invoice.paid"], ["customer.created"] and []
    # WHEN an invoice.paid event is published once, with an id, and the router runs
    status, answer = call(
        http, "POST", "/events", {"topic": "invoice.paid", "payload": {"n": 7}, "id": "evt_1"}
    )
    assert (status, answer) == (202, {"event_id": "evt_1", "topic": "invoice.paid", "duplicate": False})
    assert route(ctx) == {"batchItemFailures": []}
    # THEN exactly three partners have it, each with webhook id = the event id; "other" has nothing
    got = {pid: partner_messages(ctx, pid) for pid in SUBSCRIPTIONS}
    assert {
        pid: [(m["id"], m["partner_id"], m["topic"], m["payload"]) for m in ms] for pid, ms in got.items()
    } == {
        "wild": [("evt_1", "wild", "invoice.paid", {"n": 7})],
        "exact": [("evt_1", "exact", "invoice.paid", {"n": 7})],
        "other": [],
        "all": [("evt_1", "all", "invoice.paid", {"n": 7})],
    }
    # AND the events queue is empty (the event was acknowledged)
    assert queued_events(ctx) == 0


def test_the_router_reads_the_index_by_query_never_by_scan_and_looks_up_no_partner_queue(
    ctx: Provisioner, partners: dict[str, Any], aws_calls: list[str]
) -> None:
    # GIVEN an invoice.payment.failed event received from the events queue
    ctx_feed_publish(ctx, "invoice.payment.failed")
    event = receive_events(ctx)
    aws_calls.clear()
    # WHEN the router fans it out
    assert Router.of_stage(ctx.stage, ctx.clients).route(event) == {"batchItemFailures": []}
    # THEN it read the index with one Query per candidate pattern (4) and no Scan, looked up one queue URL
    # (the events queue's, to derive the partners'), and sent one SendMessageBatch per subscriber (wild, all)
    assert sorted(aws_calls) == ["dynamodb:Query"] * 4 + ["sqs:GetQueueUrl"] + ["sqs:SendMessageBatch"] * 2


def ctx_feed_publish(ctx: Provisioner, topic: str, event_id: str | None = None) -> None:
    EventFeed(ctx.stage, ctx.clients).publish(EventRequest(topic=topic, payload={}, id=event_id))


def test_a_disabled_partner_still_receives_and_a_deleted_one_no_longer(
    ctx: Provisioner, partners: dict[str, Any]
) -> None:
    # GIVEN "wild" disabled and "all" deleted
    disable_partner(ctx, "wild")
    delete_partner(ctx, "all")
    # WHEN an invoice.paid event is routed
    ctx_feed_publish(ctx, "invoice.paid", "evt_2")
    assert route(ctx) == {"batchItemFailures": []}
    # THEN the disabled partner's queue has it (it delivers once enabled), and the deleted one is not tried
    assert [m["id"] for m in partner_messages(ctx, "wild")] == ["evt_2"]
    assert [m["id"] for m in partner_messages(ctx, "exact")] == ["evt_2"]


def test_an_update_of_event_types_refiles_the_partner(ctx: Provisioner, partners: dict[str, Any]) -> None:
    # GIVEN "other" changed from ["customer.created"] to ["invoice.paid"], and "wild" to ["customer.*"]
    update_partner(ctx, "other", PartnerUpdate(event_types=["invoice.paid"]))
    update_partner(ctx, "wild", PartnerUpdate(event_types=["customer.*"]))
    # WHEN a customer.created and an invoice.paid event are routed in one batch
    ctx_feed_publish(ctx, "customer.created", "evt_c")
    ctx_feed_publish(ctx, "invoice.paid", "evt_i")
    assert route(ctx) == {"batchItemFailures": []}
    # THEN each partner has what its new types accept, nothing by its old ones
    got = {pid: sorted(m["id"] for m in partner_messages(ctx, pid)) for pid in SUBSCRIPTIONS}
    assert got == {"wild": ["evt_c"], "exact": ["evt_i"], "other": ["evt_i"], "all": ["evt_c", "evt_i"]}


def test_a_record_that_is_not_an_event_fails_alone(ctx: Provisioner, partners: dict[str, Any]) -> None:
    # GIVEN a good event and a record whose body is not an event
    ctx_feed_publish(ctx, "invoice.paid", "evt_ok")
    event = receive_events(ctx)
    event["Records"].append({"messageId": "bad-1", "body": '{"topic": "x"}'})
    # WHEN the router handles the batch
    answer = Router.of_stage(ctx.stage, ctx.clients).route(event)
    # THEN only the bad record is a batch item failure, and the good one was fanned out
    assert answer == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert [m["id"] for m in partner_messages(ctx, "exact")] == ["evt_ok"]


def test_an_unconfirmed_send_fails_that_event_and_its_rerun_completes_with_the_same_webhook_id(
    ctx: Provisioner, partners: dict[str, Any]
) -> None:
    # GIVEN SQS failing the router's sends twice in a row (one partner's send and its retry)
    ctx_feed_publish(ctx, "invoice.paid", "evt_retry")
    flaky = Failing(aws("sqs"), "send_message_batch", times=2)
    router = Router.of_stage(ctx.stage, ctx.clients)
    router.clients = Clients(overrides={"sqs": flaky, "dynamodb": aws("dynamodb")})
    # WHEN the router handles the event (received with a 0 s visibility timeout: back at once if failed)
    answer = route(ctx, router, visibility=0)
    # THEN the event is a batch item failure, not acknowledged: it is still on the events queue
    assert len(answer["batchItemFailures"]) == 1
    assert queued_events(ctx) == 1
    # AND WHEN the router runs again (SQS healthy), every subscriber has it; the two partners the first run
    # reached have it twice, with the same webhook id
    assert route(ctx) == {"batchItemFailures": []}
    got = {pid: [m["id"] for m in partner_messages(ctx, pid)] for pid in ("wild", "exact", "all", "other")}
    assert sorted(len(ids) for ids in got.values()) == [0, 1, 2, 2], got
    assert {i for ids in got.values() for i in ids} == {"evt_retry"}
    assert queued_events(ctx) == 0


def test_the_app_routes_the_events_queue_and_reports_failures(
    ctx: Provisioner, partners: dict[str, Any], app_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the provisioner app's route_events handler, over this moto stage
    api = Api(ctx)
    monkeypatch.setattr(app_module, "api", lambda: api)
    ctx_feed_publish(ctx, "customer.created", "evt_app")
    event = receive_events(ctx)
    event["Records"].append({"messageId": "bad-2", "body": "not json"})
    # WHEN Lambda invokes it with the batch
    answer = app_module.route_events(event, None)
    # THEN it answers the batch item failures (the bad record) and "other" and "all" have the event
    assert answer == {"batchItemFailures": [{"itemIdentifier": "bad-2"}]}
    assert [m["id"] for m in partner_messages(ctx, "other")] == ["evt_app"]
    assert [m["id"] for m in partner_messages(ctx, "all")] == ["evt_app"]


def test_partners_made_before_the_index_existed_are_filed_when_the_deploy_makes_it(
    ctx: Provisioner, partners: dict[str, Any]
) -> None:
    # GIVEN a stage whose partners exist but whose subscription index does not (made before issue 14)
    aws("dynamodb").delete_table(TableName=naming.subscriptions_table(ctx.stage))
    # WHEN the shared resources are ensured (make deploy), and an invoice.paid event is routed
    ensure_shared(ctx.stage, ctx.clients)
    ctx_feed_publish(ctx, "invoice.paid", "evt_old")
    assert route(ctx) == {"batchItemFailures": []}
    # THEN the partners made before reach it, as if they had been filed at create
    got = {pid: [m["id"] for m in partner_messages(ctx, pid)] for pid in SUBSCRIPTIONS}
    assert got == {"wild": ["evt_old"], "exact": ["evt_old"], "other": [], "all": ["evt_old"]}


def test_a_partner_still_provisioning_gets_nothing_until_its_create_finishes(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a partner whose create stopped part way (its event source mapping failed): still provisioning
    ctx.clients.overrides["lambda"] = Failing(aws("lambda"), "create_event_source_mapping")
    with pytest.raises(DependencyUnavailable):
        make_partner("late", event_types=["invoice.*"])
    # WHEN an invoice.paid event is routed, THEN it is not sent there (nothing filed it)
    ctx_feed_publish(ctx, "invoice.paid", "evt_early")
    assert route(ctx) == {"batchItemFailures": []}
    assert partner_messages(ctx, "late") == []
    # AND once create runs again and finishes, the next event reaches it
    make_partner("late", event_types=["invoice.*"])
    ctx_feed_publish(ctx, "invoice.paid", "evt_late")
    assert route(ctx) == {"batchItemFailures": []}
    assert [m["id"] for m in partner_messages(ctx, "late")] == ["evt_late"]


def test_the_router_hands_every_message_of_a_batch_to_keep_once(
    ctx: Provisioner, partners: dict[str, Any]
) -> None:
    # GIVEN a router whose keep dependency records its calls (the message store is wired there at merge)
    kept: list[list[tuple[str, str]]] = []
    router = Router.of_stage(ctx.stage, ctx.clients)
    router.keep = lambda messages: kept.append([(m.partner_id, m.id) for m in messages])
    # WHEN a batch of two events is routed
    ctx_feed_publish(ctx, "invoice.paid", "evt_k1")
    ctx_feed_publish(ctx, "customer.created", "evt_k2")
    assert route(ctx, router) == {"batchItemFailures": []}
    # THEN keep was called once, with one envelope per (partner, event) sent, and never a secret
    assert len(kept) == 1
    assert sorted(kept[0]) == [
        ("all", "evt_k1"), ("all", "evt_k2"), ("exact", "evt_k1"), ("other", "evt_k2"), ("wild", "evt_k1"),
    ]  # fmt: skip


def test_when_keep_fails_the_batch_comes_back_and_nothing_is_sent(
    ctx: Provisioner, partners: dict[str, Any]
) -> None:
    # GIVEN a router whose message store is unavailable
    def unavailable(messages: Any) -> None:
        raise DependencyUnavailable("store down")

    router = Router.of_stage(ctx.stage, ctx.clients)
    router.keep = unavailable
    ctx_feed_publish(ctx, "invoice.paid", "evt_nokeep")
    # WHEN the router handles the event, THEN it fails (back later), and no partner got an unkept webhook
    assert len(route(ctx, router)["batchItemFailures"]) == 1
    assert all(partner_messages(ctx, pid) == [] for pid in SUBSCRIPTIONS)


def test_a_partner_queue_deleted_since_the_index_read_is_skipped_not_failed(
    ctx: Provisioner, partners: dict[str, Any]
) -> None:
    # GIVEN "wild"'s queue deleted behind the index's back (a delete racing the router)
    aws("sqs").delete_queue(QueueUrl=queue_url(ctx, naming.partner_queue(ctx.stage, "wild")))
    # WHEN an invoice.paid event is routed, THEN it is acknowledged and the others have it
    ctx_feed_publish(ctx, "invoice.paid", "evt_gone")
    assert route(ctx) == {"batchItemFailures": []}
    assert [m["id"] for m in partner_messages(ctx, "exact")] == ["evt_gone"]


def test_a_webhook_over_the_routers_limit_fails_its_event_alone(
    ctx: Provisioner, partners: dict[str, Any]
) -> None:
    # GIVEN a router whose size limit is below one of two events' webhooks (the limit lowered after publish)
    ctx_feed_publish(ctx, "invoice.paid", "evt_small")
    EventFeed(ctx.stage, ctx.clients).publish(EventRequest(topic="invoice.paid", payload={"x": "y" * 3000}))
    router = Router.of_stage(ctx.stage, ctx.clients, max_event_bytes=2048)
    # WHEN the batch is routed, THEN only the big event fails; the small one reaches its partners
    assert len(route(ctx, router)["batchItemFailures"]) == 1
    assert [m["id"] for m in partner_messages(ctx, "exact")] == ["evt_small"]
