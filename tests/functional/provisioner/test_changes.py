"""disable, enable, update and rotate-secret on a live partner (moto)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hookrelay import naming
from hookrelay.partners.model import PartnerStatus
from hookrelay.partners.update import PartnerUpdate
from hookrelay.provisioning.changes import (
    disable_partner,
    enable_partner,
    rotate_partner_secret,
    update_partner,
)
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.publish import PublishRequest
from hookrelay.retry import RetryPolicy
from hookrelay.signing.keys import read_signing_keys
from hookrelay.signing.standard import sign, verify

from .conftest import STAGE, aws


def queued(partner_id: str) -> int:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=naming.partner_queue(STAGE, partner_id))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def mapping(partner_id: str) -> dict[str, Any]:
    live = naming.partner_function(STAGE, partner_id) + ":live"  # the mapping invokes the live alias
    found = aws("lambda").list_event_source_mappings(FunctionName=live)
    (only,) = found["EventSourceMappings"]
    return dict(only)


def test_disable_stops_the_mapping_and_keeps_every_message(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner with three events queued
    make_partner("acme")
    for n in range(3):
        ctx.publisher.publish("acme", PublishRequest(topic="invoice.paid", payload={"n": n}))
    # WHEN it is disabled
    disabled = disable_partner(ctx, "acme")
    # THEN the mapping is disabled, the partner says so, and the three messages are still queued
    assert mapping("acme")["State"] == "Disabled"
    assert disabled.status is PartnerStatus.DISABLED
    assert queued("acme") == 3


def test_disable_with_purge_empties_the_queue(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner with one event queued, WHEN disabled with purge, THEN the queue is empty
    make_partner("acme")
    ctx.publisher.publish("acme", PublishRequest(topic="invoice.paid", payload={}))
    disable_partner(ctx, "acme", purge_queue=True)
    assert queued("acme") == 0


def test_enable_resumes_delivery(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a disabled partner, WHEN it is enabled, THEN its mapping is enabled and it is active
    make_partner("acme")
    disable_partner(ctx, "acme")
    enabled = enable_partner(ctx, "acme")
    assert mapping("acme")["State"] == "Enabled"
    assert enabled.status is PartnerStatus.ACTIVE
    assert ctx.partners.get("acme").status is PartnerStatus.ACTIVE


def test_update_changes_the_live_function_mapping_and_queue(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner with the defaults (timeout 50 s, visibility 300 s, concurrency 2)
    make_partner("acme")
    # WHEN url, concurrency, timeouts, event types, retry policy and signature options change
    update = PartnerUpdate(
        url="http://127.0.0.1:8/new",
        max_concurrency=3,
        reserved_concurrency=4,
        post_concurrency=2,
        connect_timeout=3,
        read_timeout=7,
        event_types=["invoice.*"],
        retry_policy=RetryPolicy(schedule_seconds=(60, 120)),
        legacy_signature=True,
    )
    updated = update_partner(ctx, "acme", update)
    # THEN the function runs ceil(10/2) * (3+7) + 10 = 60 s with the new settings in its environment
    function = aws("lambda").get_function(FunctionName=naming.partner_function(STAGE, "acme"))
    env = function["Configuration"]["Environment"]["Variables"]
    assert function["Configuration"]["Timeout"] == 60
    assert (env["HOOKRELAY_PARTNER_URL"], env["HOOKRELAY_POST_CONCURRENCY"]) == (
        "http://127.0.0.1:8/new",
        "2",
    )
    assert (env["HOOKRELAY_CONNECT_TIMEOUT"], env["HOOKRELAY_READ_TIMEOUT"]) == ("3.0", "7.0")
    assert env["HOOKRELAY_LEGACY_SIGNATURE"] == "true"
    assert json.loads(env["HOOKRELAY_RETRY_POLICY"])["schedule_seconds"] == [60, 120]
    # AND the reserved concurrency is 4 and the mapping's maximum concurrency 3 (max_concurrency)
    assert function["Concurrency"] == {"ReservedConcurrentExecutions": 4}
    assert mapping("acme")["ScalingConfig"] == {"MaximumConcurrency": 3}
    # AND the queue's visibility timeout is 6 x 60 s
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=naming.partner_queue(STAGE, "acme"))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "360"
    # AND the stored partner holds the new options
    assert ctx.partners.get("acme").model_dump(exclude={"updated_at"}) == updated.model_dump(
        exclude={"updated_at"}
    )
    assert updated.event_types == ["invoice.*"]


def test_rotate_secret_signs_with_old_and_new_until_the_grace_ends(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a partner and its first secret
    old = make_partner("acme").secret.get_secret_value()
    # WHEN the secret is rotated
    rotated = rotate_partner_secret(ctx, "acme")
    new = rotated.secret.get_secret_value()
    # THEN a message signed now carries signatures that verify with the old and with the new secret
    keys = read_signing_keys(naming.partner_secret(STAGE, "acme"), aws("secretsmanager"))
    now = ctx.clock()
    assert keys.active_secrets(now) == [new, old]
    headers = sign(keys.active_secrets(now), "msg_1", b"{}")
    assert verify(old, headers, b"{}").webhook_id == "msg_1"
    assert verify(new, headers, b"{}").webhook_id == "msg_1"
    # AND after the 24 h grace only the new secret signs
    assert keys.active_secrets(now + timedelta(hours=24, seconds=1)) == [new]
