"""update-code: every partner moves to the newest artifact; each failure is reported on its own."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from hookrelay import naming
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.rollout import RolloutRequest, update_code_everywhere

from .conftest import STAGE, aws, upload_artifact


class FailingFor:
    """A Lambda client whose update_function_code fails for one function."""

    def __init__(self, real: Any, function: str) -> None:
        self.real, self.function = real, function

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def update_function_code(self, **kwargs: Any) -> Any:
        if kwargs["FunctionName"] == self.function:
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "Update"
            )
        return self.real.update_function_code(**kwargs)


def test_update_code_reports_each_partner_and_partial_failures(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN three partners, a new artifact, one partner's function deleted and another's update failing
    for partner_id in ("alpha", "beta", "gamma"):
        make_partner(partner_id)
    new_key = upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    aws("lambda").delete_function(FunctionName=naming.partner_function(STAGE, "beta"))
    ctx.clients.overrides["lambda"] = FailingFor(aws("lambda"), naming.partner_function(STAGE, "gamma"))
    # WHEN update-code runs for every partner
    rollout = update_code_everywhere(ctx, RolloutRequest())
    # THEN alpha moved, beta and gamma failed with their reasons, none hiding another
    assert rollout.code_key == new_key
    assert (rollout.succeeded, rollout.failed) == (1, 2)
    results = {r.partner_id: r for r in rollout.results}
    assert results["alpha"].ok
    assert results["alpha"].code_sha256
    assert results["beta"].error == "function hookrelay-test-beta does not exist"
    assert (
        results["gamma"].error == "cannot update the code of hookrelay-test-gamma: TooManyRequestsException"
    )
    assert ctx.partners.get("alpha").code_key == new_key
    assert ctx.partners.get("gamma").code_key != new_key
    # AND the rollout paused between partners (throttled)
    assert ctx.clients.sleep.__self__ == [0.25, 0.25]  # type: ignore[attr-defined]


def test_update_code_of_chosen_partners_reports_unknown_ones(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN one partner, WHEN update-code names it and an unknown one, THEN one ok, one not found
    make_partner("alpha")
    rollout = update_code_everywhere(ctx, RolloutRequest(partner_ids=["alpha", "nobody"]))
    assert [(r.partner_id, r.ok, r.error) for r in rollout.results] == [
        ("alpha", True, None),
        ("nobody", False, "partner 'nobody' does not exist"),
    ]
