"""The dedup table on moto: claims, leases, completion and release, as concurrent copies see them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from hookrelay.receiving.dedup import Claim, ClaimState, DedupTable, create_dedup_table
from tests.conftest import REGION

NOW = 1_800_000_000.0


@pytest.fixture
def table(moto_aws: None) -> DedupTable:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_dedup_table("webhooks", dynamodb)
    return DedupTable("webhooks", lease_seconds=30, ttl_seconds=3600, dynamodb=dynamodb)


def item(table: DedupTable, webhook_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = table.client.get_item(
        TableName="webhooks", Key={"webhook_id": {"S": webhook_id}}
    ).get("Item")
    return found


def test_a_live_lease_makes_a_second_copy_in_flight(table: DedupTable) -> None:
    assert table.claim("msg_1", NOW).state is ClaimState.CLAIMED
    assert table.claim("msg_1", NOW + 29).state is ClaimState.IN_FLIGHT


def test_an_expired_lease_can_be_claimed_again(table: DedupTable) -> None:
    # GIVEN a copy that claimed the id and never queued it (its Lambda died)
    table.claim("msg_1", NOW)
    # WHEN hookrelay's retry arrives after the lease THEN it takes the id over
    assert table.claim("msg_1", NOW + 31).state is ClaimState.CLAIMED


def test_a_completed_id_is_done_until_its_ttl(table: DedupTable) -> None:
    claim = table.claim("msg_1", NOW)
    assert table.complete(claim, NOW + 1, "sqs-1") is True
    assert table.claim("msg_1", NOW + 3000).state is ClaimState.DONE
    assert table.claim("msg_1", NOW + 3602).state is ClaimState.CLAIMED


def test_completion_records_the_message_and_the_ttl(table: DedupTable) -> None:
    table.complete(table.claim("msg_1", NOW), NOW + 1, "sqs-1")
    stored = item(table, "msg_1")
    assert stored is not None
    assert {k: stored[k] for k in ("status", "message_id", "expires_at")} == {
        "status": {"S": "done"},
        "message_id": {"S": "sqs-1"},
        "expires_at": {"N": str(int(NOW + 1) + 3600)},
    }


def test_release_frees_the_id_at_once(table: DedupTable) -> None:
    claim = table.claim("msg_1", NOW)
    assert table.release(claim) is True
    assert item(table, "msg_1") is None
    assert table.claim("msg_1", NOW + 1).state is ClaimState.CLAIMED


def test_a_stale_claim_neither_completes_nor_releases_a_newer_one(table: DedupTable) -> None:
    # GIVEN a claim whose lease ran out and was taken over by another copy
    stale = table.claim("msg_1", NOW)
    table.claim("msg_1", NOW + 31)
    # THEN the stale holder cannot mark it done or delete it
    assert table.complete(stale, NOW + 32, "sqs-1") is False
    assert table.release(stale) is False
    stored = item(table, "msg_1")
    assert stored is not None
    assert stored["status"] == {"S": "pending"}


def test_an_unreachable_table_is_unavailable(moto_aws: None) -> None:
    from hookrelay.errors import DependencyUnavailable

    missing = DedupTable("missing", 30, 3600, boto3.client("dynamodb", region_name=REGION))
    with pytest.raises(DependencyUnavailable, match="cannot record webhook id in missing"):
        missing.claim("msg_1", NOW)
    assert missing.release(Claim("msg_1", ClaimState.CLAIMED, "t")) is False
