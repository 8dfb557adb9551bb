"""GET /partners a page at a time: every partner exactly once over the pages, a bad cursor a clear 400,
and partners stored before the concurrency change listed as they run."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from hookrelay import naming
from hookrelay.partners.model import Partner, PartnerStatus
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.openapi import openapi_document

from .conftest import STAGE, URL, aws
from .test_api import call

IDS = [f"p{n:02d}" for n in range(11)]


def store(ctx: Provisioner, *ids: str) -> None:
    """Partner records only (a listing reads the table, nothing else)."""
    for partner_id in ids:
        ctx.partners.put(Partner(partner_id=partner_id, url=URL, status=PartnerStatus.ACTIVE))


def test_pages_walk_every_partner_exactly_once(ctx: Provisioner, http: Any) -> None:
    # GIVEN 11 partners
    store(ctx, *IDS)
    # WHEN they are listed 4 at a time, following next_cursor
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    for _ in range(10):
        path = "/partners?limit=4" + (f"&cursor={cursor}" if cursor else "")
        status, page = call(http, "GET", path)
        assert status == 200
        sizes.append(len(page["items"]))
        seen += [p["partner_id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # THEN every partner came exactly once, in pages of at most 4, each page sorted by id
    assert sorted(seen) == IDS
    assert len(seen) == len(set(seen))
    assert sizes[:3] == [4, 4, 3]
    assert max(sizes) <= 4


def test_the_default_page_holds_fifty(ctx: Provisioner, http: Any) -> None:
    store(ctx, *IDS)
    status, page = call(http, "GET", "/partners")
    assert (status, len(page["items"]), page["next_cursor"]) == (200, 11, None)


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        base64.urlsafe_b64encode(b"not json").decode(),
        _cursor(["p01"]),
        _cursor({"partner_id": {"N": "1"}}),
        _cursor({"partner_id": {"S": "p01"}, "sort_key": {"S": "x"}}),  # a /deliveries cursor
        _cursor({"id": {"S": "p01"}}),
    ],
    ids=["garbage", "not-json", "a-list", "a-number-key", "another-listing", "another-key"],
)
def test_a_cursor_this_api_did_not_make_is_a_400(ctx: Provisioner, http: Any, cursor: str) -> None:
    store(ctx, "p01")
    status, answer = call(http, "GET", f"/partners?cursor={cursor}")
    assert (status, answer) == (
        400,
        {"error": "invalid_input", "message": "cursor is not one this API returned"},
    )


@pytest.mark.parametrize("limit", ["0", "101", "ten", "-1"])
def test_a_limit_outside_1_to_100_is_a_400(ctx: Provisioner, http: Any, limit: str) -> None:
    status, answer = call(http, "GET", f"/partners?limit={limit}")
    assert (status, answer["error"]) == (400, "invalid_input")
    assert answer["message"] == "limit must be a whole number from 1 to 100"


def test_a_partner_stored_before_the_concurrency_change_is_listed_as_it_runs(
    ctx: Provisioner, http: Any
) -> None:
    # GIVEN a partners-table item as written before max_concurrency existed (reservation 2, required)
    old = {
        "url": URL,
        "event_types": [],
        "reserved_concurrency": 2,
        "post_concurrency": 5,
        "connect_timeout": 5.0,
        "read_timeout": 15.0,
        "legacy_signature": False,
        "partner_id": "legacy",
        "status": "active",
        "created_at": "2026-11-01T00:00:00Z",
        "updated_at": "2026-11-01T00:00:00Z",
    }
    aws("dynamodb").put_item(
        TableName=naming.partners_table(STAGE),
        Item={"partner_id": {"S": "legacy"}, "status": {"S": "active"}, "doc": {"S": json.dumps(old)}},
    )
    # WHEN the partners are listed
    status, page = call(http, "GET", "/partners")
    # THEN it is there, keeping its reservation of 2 with the ceiling its mapping had (2)
    (listed,) = page["items"]
    assert status == 200
    assert (listed["partner_id"], listed["reserved_concurrency"], listed["max_concurrency"]) == (
        "legacy",
        2,
        2,
    )
    assert listed["provisioned_concurrency"] is None


def test_the_openapi_document_describes_the_paged_listing_and_capacity() -> None:
    # GIVEN the served API description
    document = openapi_document()
    listing = document["paths"]["/partners"]["get"]
    # THEN GET /partners takes limit (1-100) and cursor and answers a page with next_cursor
    assert [(p["name"], p["in"]) for p in listing["parameters"]] == [("limit", "query"), ("cursor", "query")]
    assert listing["parameters"][0]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    page = document["components"]["schemas"]["PartnerPage"]
    assert sorted(page["properties"]) == ["items", "next_cursor"]
    # AND GET /capacity answers the capacity report
    answer = document["paths"]["/capacity"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"] == {"$ref": "#/components/schemas/Capacity"}
