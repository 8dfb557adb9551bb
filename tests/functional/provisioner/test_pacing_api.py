"""A paced partner over the provisioner's API: the options, the handler's environment and role, and the
rate it is paced at now in GET /partners/{id}."""

from __future__ import annotations

import json
from typing import Any

from hookrelay import naming
from hookrelay.partners.pace_store import ATTRIBUTES, PaceStore
from hookrelay.partners.pacing import PaceState
from hookrelay.provisioning.resources.pacing_grant import PACING_POLICY_NAME

from .conftest import STAGE, URL, aws
from .test_api import call


def environment() -> dict[str, str]:
    function = naming.partner_function(STAGE, "acme")
    config = aws("lambda").get_function_configuration(FunctionName=function)
    return dict(config["Environment"]["Variables"])


def test_a_paced_partner_over_http(http: Any) -> None:
    # GIVEN a partner created with a rate of 5/s, adaptive
    body = {"partner_id": "acme", "url": URL, "max_requests_per_second": 5, "adaptive_rate": True}
    status, created = call(http, "POST", "/partners", body)
    assert (status, created["max_requests_per_second"], created["adaptive_rate"]) == (201, 5.0, True)
    # THEN its handler gets the rate, and its role the pacing attributes of its own item only
    env = environment()
    assert (env["HOOKRELAY_MAX_REQUESTS_PER_SECOND"], env["HOOKRELAY_ADAPTIVE_RATE"]) == ("5.0", "true")
    iam, role = aws("iam"), naming.partner_role(STAGE, "acme")
    document = iam.get_role_policy(RoleName=role, PolicyName=PACING_POLICY_NAME)["PolicyDocument"]
    (pacing,) = [s for s in document["Statement"] if s["Sid"] == "OwnPacingState"]
    assert pacing["Resource"].endswith(f":table/{naming.partners_table(STAGE)}")
    assert pacing["Condition"]["ForAllValues:StringEquals"] == {
        "dynamodb:Attributes": list(ATTRIBUTES),
        "dynamodb:LeadingKeys": ["acme"],
    }
    # AND GET shows the rate it is paced at: the ceiling, then what the handlers moved it to
    assert call(http, "GET", "/partners/acme")[1]["pacing"]["effective_rate"] == 5.0
    store = PaceStore(naming.partners_table(STAGE), "acme", aws("dynamodb"))
    assert store.set_rate(PaceState(), 2.5, decreased_at=1_800_000_000.0)
    pacing_now = call(http, "GET", "/partners/acme")[1]["pacing"]
    assert (pacing_now["ceiling"], pacing_now["effective_rate"]) == (5.0, 2.5)
    assert pacing_now["decreased_at"].startswith("2027-01-15T08:00:00")
    # WHEN the rate is removed and adaptive turned off
    patched = call(
        http, "PATCH", "/partners/acme", {"max_requests_per_second": None, "adaptive_rate": False}
    )[1]
    # THEN the partner is not paced any more: no setting in the handler, nothing in GET
    assert (patched["max_requests_per_second"], patched["adaptive_rate"]) == (None, False)
    assert "HOOKRELAY_MAX_REQUESTS_PER_SECOND" not in environment()
    assert call(http, "GET", "/partners/acme")[1]["pacing"] is None
    # AND the pacing state on the item never touched the partner's document
    item = aws("dynamodb").get_item(TableName=naming.partners_table(STAGE), Key={"partner_id": {"S": "acme"}})
    assert json.loads(item["Item"]["doc"]["S"])["url"] == URL


def test_a_rate_out_of_range_is_a_400(http: Any) -> None:
    body = {"partner_id": "acme", "url": URL, "max_requests_per_second": 0}
    status, answer = call(http, "POST", "/partners", body)
    assert status == 400
    assert "max_requests_per_second" in json.dumps(answer)


def test_an_unpaced_partner_gets_no_pacing_grant_until_a_rate_is_set(http: Any) -> None:
    # GIVEN a partner created without a rate: its role has the handler policy alone
    call(http, "POST", "/partners", {"partner_id": "acme", "url": URL})
    iam, role = aws("iam"), naming.partner_role(STAGE, "acme")
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["hookrelay-handler"]
    # WHEN a rate is set
    assert call(http, "PATCH", "/partners/acme", {"max_requests_per_second": 2})[0] == 200
    # THEN its role gets the pacing policy, and its handler the rate
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == [
        "hookrelay-handler",
        "hookrelay-pacing",
    ]
    assert environment()["HOOKRELAY_MAX_REQUESTS_PER_SECOND"] == "2.0"


def test_get_of_a_paced_partner_reads_its_item_once(http: Any) -> None:
    # GIVEN a paced partner (its item holds the document, the health counters and the pacing state)
    call(http, "POST", "/partners", {"partner_id": "acme", "url": URL, "max_requests_per_second": 5})
    reads: list[str] = []
    dynamodb = aws("dynamodb")

    def count(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == naming.partners_table(STAGE):
            reads.append(params["Key"]["partner_id"]["S"])

    dynamodb.meta.events.register("provide-client-params.dynamodb.GetItem", count)
    try:
        # WHEN an operator GETs it
        status, answer = call(http, "GET", "/partners/acme")
    finally:
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.GetItem", count)
    # THEN everything it shows of the partner comes from one read of its item
    assert (status, answer["pacing"]["effective_rate"]) == (200, 5.0)
    assert answer["health"]["consecutive_failures"] == 0
    assert reads == ["acme"]
