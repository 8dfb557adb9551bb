"""`make run`'s stack runs the events router (issue 14): one POST /events reaches every subscribed
partner's endpoint, through the router Lambda and each partner's handler, with webhook-id = the event id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from hookrelay_local.partner_server import PartnerServer
from hookrelay_local.stack import LocalStack, StackOptions
from tests.support.lambda_runtime import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(aws_port=0, api_port=0, receiver_port=0, stage="events")
    with LocalStack(options) as running:
        yield running


def test_one_published_event_reaches_every_subscribed_partner_over_the_local_stack(stack: LocalStack) -> None:
    # GIVEN two partners on the stack: "billing" takes invoice.*, "crm" takes customer.created
    with PartnerServer() as billing, PartnerServer() as crm:
        for pid, server, types in (("billing", billing, ["invoice.*"]), ("crm", crm, ["customer.created"])):
            created = requests.post(
                f"{stack.api_url}/partners",
                json={"partner_id": pid, "url": server.url, "event_types": types},
                timeout=60,
            )
            assert created.status_code == 201, created.text
        # WHEN an invoice.paid event and then a customer.created event are published once each
        first = requests.post(
            f"{stack.api_url}/events",
            json={"topic": "invoice.paid", "payload": {"amount": 5}, "id": "evt_local_1"},
            timeout=10,
        )
        assert (first.status_code, first.json()["event_id"]) == (202, "evt_local_1")
        second = requests.post(
            f"{stack.api_url}/events",
            json={"topic": "customer.created", "payload": {}, "id": "evt_local_2"},
            timeout=10,
        )
        assert second.status_code == 202, second.text
        # THEN billing's endpoint receives the first, crm's the second, each with webhook-id = the event id
        wait_for(lambda: billing.count >= 1 and crm.count >= 1, 60.0, 0.2)
        assert [r.headers["webhook-id"] for r in billing.requests_snapshot()] == ["evt_local_1"]
        assert [r.headers["webhook-id"] for r in crm.requests_snapshot()] == ["evt_local_2"]

        # AND the message store kept the routed webhook: GET shows it with its delivered attempt
        def kept() -> dict[str, Any]:
            answer = requests.get(f"{stack.api_url}/partners/billing/webhooks/evt_local_1", timeout=10)
            return dict(answer.json()) if answer.status_code == 200 else {}

        wait_for(lambda: kept().get("delivered") is True, 60.0, 0.2)
        view = kept()
        assert (view["topic"], view["payload"], [a["outcome"] for a in view["attempts"]]) == (
            "invoice.paid", {"amount": 5}, ["delivered"],
        )  # fmt: skip
        # AND publishing the first again is a duplicate (200), never routed again
        again = requests.post(
            f"{stack.api_url}/events",
            json={"topic": "invoice.paid", "payload": {"amount": 5}, "id": "evt_local_1"},
            timeout=10,
        )
        assert (again.status_code, again.json()["duplicate"]) == (200, True)
