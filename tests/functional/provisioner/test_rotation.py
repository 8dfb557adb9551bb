"""rotate-secret is immediate and one at a time (moto, and the local runtime's handler path).

The handler runs as the local Lambda runtime runs it: ``DeliverInvoker`` builds the handler's deps from
the configuration of ``<function>:live`` (what the partner's mapping invokes), once per version, as Lambda
starts new execution environments for a new version.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from hookrelay import naming
from hookrelay.errors import Conflict
from hookrelay.partners.update import PartnerUpdate
from hookrelay.provisioning.changes import rotate_partner_secret, update_partner
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.lease import LEASE_SECONDS, take_lease
from hookrelay.provisioning.publish import PublishRequest
from hookrelay.signing.keys import read_signing_keys
from hookrelay.signing.standard import Verifier, WebhookVerificationError, verify
from hookrelay_local.lambda_runtime.invokers import DeliverInvoker, FunctionConfig
from hookrelay_local.partner_server import PartnerServer, Received
from tests.support.sqs import drain, sqs_event

from .conftest import STAGE, Failing, aws, upload_artifact, writes
from .test_api import call
from .test_rollout_async import rollout

VERSION_VARIABLE = "HOOKRELAY_SIGNING_KEY_VERSION"


@pytest.fixture
def server() -> Iterator[PartnerServer]:
    with PartnerServer() as running:
        yield running


def live_config(partner_id: str) -> dict[str, Any]:
    """What the partner's mapping invokes: the configuration of the version behind ``live``."""
    name = naming.partner_function(STAGE, partner_id)
    return dict(aws("lambda").get_function_configuration(FunctionName=f"{name}:live"))


def live_key_version(partner_id: str) -> str | None:
    return live_config(partner_id)["Environment"]["Variables"].get(VERSION_VARIABLE)


def current_secret_version(partner_id: str) -> str:
    stages = aws("secretsmanager").describe_secret(SecretId=naming.partner_secret(STAGE, partner_id))
    (current,) = [v for v, labels in stages["VersionIdsToStages"].items() if "AWSCURRENT" in labels]
    return str(current)


def deliver_next(ctx: Provisioner, invoker: DeliverInvoker, server: PartnerServer) -> Received:
    """Publish one event to acme and run the live handler on it; return the request the partner got."""
    ctx.publisher.publish("acme", PublishRequest(topic="invoice.paid", payload={"n": 1}))
    url = aws("sqs").get_queue_url(QueueName=naming.partner_queue(STAGE, "acme"))["QueueUrl"]
    [message] = drain(aws("sqs"), url)
    invoker(sqs_event([message["Body"]]), FunctionConfig.from_api(live_config("acme"), None))
    return server.requests_snapshot()[-1]


def test_the_delivery_right_after_rotate_secret_verifies_with_the_old_and_the_new_secret(
    ctx: Provisioner, make_partner: Any, server: PartnerServer
) -> None:
    # GIVEN a partner whose running handler has delivered once (its key cache holds the first secret)
    old = make_partner("acme", url=server.url + "/hook").secret.get_secret_value()
    invoker = DeliverInvoker(aws("sqs"), aws("secretsmanager"))
    before = deliver_next(ctx, invoker, server)
    assert len(before.headers["webhook-signature"].split()) == 1
    # WHEN the secret is rotated, and the very next webhook is delivered
    new = rotate_partner_secret(ctx, "acme").secret.get_secret_value()
    after = deliver_next(ctx, invoker, server)
    # THEN it carries two signatures: one verifies with the old secret, one with the new
    assert len(after.headers["webhook-signature"].split()) == 2
    assert verify(old, after.headers, after.body).webhook_id == after.headers["webhook-id"]
    assert verify(new, after.headers, after.body).webhook_id == after.headers["webhook-id"]
    # AND a receiver that knows only the new secret accepts it (one that knew only the old did before)
    assert Verifier(new).verify(after.headers, after.body).webhook_id == after.headers["webhook-id"]
    with pytest.raises(WebhookVerificationError):
        Verifier(new).verify(before.headers, before.body)


def test_a_rotation_writes_the_secret_then_publishes_its_version_to_the_live_alias(
    ctx: Provisioner, make_partner: Any, aws_calls: list[str]
) -> None:
    # GIVEN a partner (version 1 live)
    make_partner("acme")
    aws_calls.clear()
    # WHEN its secret is rotated
    rotate_partner_secret(ctx, "acme")
    # THEN the writes are: lease, secret, configuration, version, alias, lease released
    # (sns:CreateTopic is the shared topic's idempotent lookup, as in every environment build)
    assert writes(aws_calls) == [
        "dynamodb:UpdateItem",
        "secretsmanager:PutSecretValue",
        "sns:CreateTopic",
        "lambda:UpdateFunctionConfiguration",
        "lambda:PublishVersion",
        "lambda:UpdateAlias",
        "dynamodb:UpdateItem",
    ]
    # AND Lambda is called 4 times on the control plane, plus two GetFunction waits (their own quota)
    assert [c for c in aws_calls if c.startswith("lambda:")] == [
        "lambda:GetFunction",
        "lambda:UpdateFunctionConfiguration",
        "lambda:GetFunction",
        "lambda:PublishVersion",
        "lambda:UpdateAlias",
        "lambda:ListEventSourceMappings",
    ]
    # AND live runs version 2, whose environment names the secret's current version
    assert live_config("acme")["Version"] == "2"
    assert live_key_version("acme") == current_secret_version("acme")


class RotationDuringRead:
    """Secrets Manager, but the first GetSecretValue runs ``meanwhile`` after reading (a second rotation
    landing between the first one's read and its write)."""

    def __init__(self, real: Any, meanwhile: Any) -> None:
        self.real, self.meanwhile, self.outcome = real, meanwhile, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def get_secret_value(self, **kwargs: Any) -> Any:
        value = self.real.get_secret_value(**kwargs)
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            try:
                self.outcome = meanwhile()
            except Conflict as exc:
                self.outcome = exc
        return value


def test_two_rotations_at_once_one_succeeds_and_the_other_is_409_storing_nothing(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a partner, and a second rotation that starts while the first has read the keys
    old = make_partner("acme").secret.get_secret_value()
    racing = RotationDuringRead(aws("secretsmanager"), lambda: rotate_partner_secret(ctx, "acme"))
    ctx.clients.overrides["secretsmanager"] = racing
    # WHEN the first rotation runs
    first = rotate_partner_secret(ctx, "acme").secret.get_secret_value()
    # THEN the second was refused: 409, retry
    assert isinstance(racing.outcome, Conflict)
    assert (racing.outcome.status_code, racing.outcome.message) == (
        409,
        "a rotation of 'acme' is in progress; retry",
    )
    # AND the keys that sign are exactly the answered secret and the old one (nothing of the second)
    keys = read_signing_keys(naming.partner_secret(STAGE, "acme"), aws("secretsmanager"))
    assert keys.active_secrets(ctx.clock()) == [first, old]
    # AND the lease is gone: the next rotation goes through
    assert rotate_partner_secret(ctx, "acme").secret.get_secret_value() not in (first, old)


def test_rotate_secret_during_another_rotation_answers_409_over_http(
    ctx: Provisioner, make_partner: Any, http: Any
) -> None:
    # GIVEN a rotation of acme in progress (its lease held), and acme's keys as they are
    make_partner("acme")
    before = aws("secretsmanager").get_secret_value(SecretId=naming.partner_secret(STAGE, "acme"))
    take_lease(ctx.partners.table, "acme", ctx.clock(), ctx.clients)
    # WHEN another rotate-secret is posted
    status, answer = call(http, "POST", "/partners/acme/rotate-secret")
    # THEN 409 in our error shape, no secret in it, and the keys unchanged
    assert (status, answer) == (
        409,
        {"error": "conflict", "message": "a rotation of 'acme' is in progress; retry"},
    )
    after = aws("secretsmanager").get_secret_value(SecretId=naming.partner_secret(STAGE, "acme"))
    assert after["VersionId"] == before["VersionId"]


def test_a_crashed_rotations_lease_expires_by_itself(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a rotation that took acme's lease and died (no release)
    make_partner("acme")
    now = ctx.clock()
    take_lease(ctx.partners.table, "acme", now, ctx.clients)
    ctx.clock = lambda: now + timedelta(seconds=LEASE_SECONDS - 1)
    # WHEN a rotation runs within the lease, THEN it is 409
    with pytest.raises(Conflict, match="a rotation of 'acme' is in progress; retry"):
        rotate_partner_secret(ctx, "acme")
    # WHEN one runs after the lease's 120 s, THEN it succeeds
    ctx.clock = lambda: now + timedelta(seconds=LEASE_SECONDS + 1)
    assert rotate_partner_secret(ctx, "acme").secret.get_secret_value().startswith("whsec_")


def test_a_failed_rotation_releases_its_lease(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a partner whose function refuses one configuration change
    make_partner("acme")
    ctx.clients.overrides["lambda"] = Failing(aws("lambda"), "update_function_configuration")
    # WHEN a rotation fails there, THEN it says so; AND a retry at once goes through (no 409)
    with pytest.raises(Exception, match="ServiceUnavailable"):
        rotate_partner_secret(ctx, "acme")
    rotate_partner_secret(ctx, "acme")
    assert live_key_version("acme") == current_secret_version("acme")


def test_the_key_version_survives_an_update_and_an_update_code(
    ctx: Provisioner, make_partner: Any, http: Any
) -> None:
    # GIVEN a partner created with its secret's version in its environment, then rotated
    make_partner("acme")
    assert live_key_version("acme") == current_secret_version("acme")
    rotate_partner_secret(ctx, "acme")
    rotated = current_secret_version("acme")
    # WHEN its options change, THEN the new live version keeps the key version
    update_partner(ctx, "acme", PartnerUpdate(read_timeout=7))
    assert (live_config("acme")["Version"], live_key_version("acme")) == ("3", rotated)
    # WHEN its code is rolled out, THEN the new live version keeps it too
    upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    status, done = rollout(http)
    assert (status, done["succeeded"]) == (200, 1)
    assert (live_config("acme")["Version"], live_key_version("acme")) == ("4", rotated)


def test_an_update_during_a_rotation_is_409_and_changes_nothing(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a rotation of acme in progress (its lease held): it will publish the options it read
    make_partner("acme")
    take_lease(ctx.partners.table, "acme", ctx.clock(), ctx.clients, change="rotation")
    function = naming.partner_function(STAGE, "acme")
    before = aws("lambda").get_function_configuration(FunctionName=function)["Environment"]
    # WHEN an update arrives meanwhile
    with pytest.raises(Conflict, match="a rotation of 'acme' is in progress; retry"):
        update_partner(ctx, "acme", PartnerUpdate(post_concurrency=7))
    # THEN nothing of it was applied: the stored partner and the function's environment are as before
    assert ctx.partners.get("acme").post_concurrency != 7
    assert aws("lambda").get_function_configuration(FunctionName=function)["Environment"] == before


def test_a_rotation_during_an_update_is_409_naming_the_update(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN an update of acme in progress (its lease held)
    make_partner("acme")
    take_lease(ctx.partners.table, "acme", ctx.clock(), ctx.clients, change="update")
    # WHEN a rotation arrives meanwhile, THEN it is 409 and says which change holds the partner
    with pytest.raises(Conflict, match="an update of 'acme' is in progress; retry"):
        rotate_partner_secret(ctx, "acme")


def test_an_update_that_changes_nothing_takes_no_lease(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN a rotation of acme in progress
    make_partner("acme")
    take_lease(ctx.partners.table, "acme", ctx.clock(), ctx.clients)
    # WHEN an update that changes nothing arrives, THEN it answers the partner as it is (no 409)
    assert update_partner(ctx, "acme", PartnerUpdate()) == ctx.partners.get("acme")
