"""The message store's S3 bodies expire a day after its retention, and the bucket's own rules stay."""

from __future__ import annotations

from typing import Any

from hookrelay.aws.clients import Clients
from hookrelay.provisioning.resources.message_bodies import RULE_ID, ensure_message_body_expiry

from .conftest import SERVICES, aws

BUCKET = "hookrelay-expiry-test"
OPERATORS_RULE = {
    "ID": "operator-logs",
    "Filter": {"Prefix": "logs/"},
    "Status": "Enabled",
    "Expiration": {"Days": 7},
}


def clients() -> Clients:
    return Clients(overrides={s: aws(s) for s in SERVICES})


def rules() -> dict[str, Any]:
    return {r["ID"]: r for r in aws("s3").get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}


def test_bodies_expire_a_day_after_the_retention_and_an_operators_rule_is_kept(moto_aws: None) -> None:
    # GIVEN a bucket with an operator's own lifecycle rule
    aws("s3").create_bucket(Bucket=BUCKET)
    aws("s3").put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration={"Rules": [OPERATORS_RULE]}
    )
    # WHEN the store's expiry is ensured for a 30-day retention
    ensure_message_body_expiry(BUCKET, 30, clients())
    # THEN messages/ expires after 31 days, and the operator's rule is still there as it was
    found = rules()
    assert (found[RULE_ID]["Filter"], found[RULE_ID]["Expiration"]) == ({"Prefix": "messages/"}, {"Days": 31})
    assert found["operator-logs"]["Expiration"] == {"Days": 7}


def test_a_changed_retention_replaces_the_rule_and_an_unchanged_one_writes_nothing(moto_aws: None) -> None:
    # GIVEN a bucket without lifecycle rules, given the store's rule for 30 days
    aws("s3").create_bucket(Bucket=BUCKET)
    ensure_message_body_expiry(BUCKET, 30, clients())
    writes: list[str] = []
    event = "before-call.s3.PutBucketLifecycleConfiguration"
    aws("s3").meta.events.register(event, lambda **_: writes.append("put"), unique_id="count-puts")
    try:
        # WHEN it is ensured again unchanged, then for 7 days
        ensure_message_body_expiry(BUCKET, 30, clients())
        assert writes == []
        ensure_message_body_expiry(BUCKET, 7, clients())
    finally:
        aws("s3").meta.events.unregister(event, unique_id="count-puts")
    # THEN one write replaced the rule: one rule of that id, 8 days
    assert writes == ["put"]
    assert list(rules()) == [RULE_ID]
    assert rules()[RULE_ID]["Expiration"] == {"Days": 8}
