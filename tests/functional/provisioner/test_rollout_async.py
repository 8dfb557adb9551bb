"""update-code at scale: 202 and a rollout id, chunks on the work queue, the worker moving each partner's
live alias, progress and per-partner results from GET /rollouts/{id}; retried chunks, reruns, throttling."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from hookrelay import naming
from hookrelay.provisioning.context import Provisioner
from tests.support.rollouts import run_rollout_worker

from .conftest import STAGE, Failing, aws, upload_artifact
from .test_api import call


class FailingFor:
    """A Lambda client whose update_function_code fails with ``code`` for one function."""

    def __init__(self, real: Any, function: str, code: str = "ServiceException") -> None:
        self.real, self.function, self.code = real, function, code

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def update_function_code(self, **kwargs: Any) -> Any:
        if kwargs["FunctionName"] == self.function:
            raise ClientError({"Error": {"Code": self.code, "Message": "injected"}}, "UpdateFunctionCode")
        return self.real.update_function_code(**kwargs)


class Counting:
    """A Lambda client counting the calls of each method."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)
        if not callable(method) or name.startswith(("get_", "list_", "can_", "meta")):
            return method

        def counted(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(**kwargs)

        return counted


def live(partner_id: str) -> dict[str, Any]:
    return aws("lambda").get_function_configuration(
        FunctionName=f"{naming.partner_function(STAGE, partner_id)}:live"
    )


def rollout(http: Any, body: Any = None, *, worker: bool = True) -> tuple[int, dict[str, Any]]:
    """POST /update-code, let the worker empty the work queue, then GET the rollout."""
    status, started = call(http, "POST", "/update-code", body or {})
    assert status == 202, started
    if worker:
        run_rollout_worker(http, aws("sqs"), STAGE)
    return call(http, "GET", f"/rollouts/{started['rollout_id']}")


def test_update_code_answers_202_and_the_rollout_reports_each_partner(
    ctx: Provisioner, make_partner: Any, http: Any
) -> None:
    # GIVEN three partners, a new artifact, beta's function deleted and gamma's update failing
    for partner_id in ("alpha", "beta", "gamma"):
        make_partner(partner_id)
    new_key = upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    aws("lambda").delete_function(FunctionName=naming.partner_function(STAGE, "beta"))
    ctx.clients.overrides["lambda"] = FailingFor(aws("lambda"), naming.partner_function(STAGE, "gamma"))
    # WHEN update-code is posted
    status, started = call(http, "POST", "/update-code", {})
    # THEN it answers at once: 202, running, three partners, nothing done yet
    assert status == 202
    assert {k: started[k] for k in ("status", "code_key", "total", "succeeded", "failed", "skipped")} == {
        "status": "running", "code_key": new_key, "total": 3, "succeeded": 0, "failed": 0, "skipped": 0,
    }  # fmt: skip
    assert call(http, "GET", f"/rollouts/{started['rollout_id']}")[1]["status"] == "running"
    # WHEN the worker has taken the work queue's chunks
    assert run_rollout_worker(http, aws("sqs"), STAGE) == 1
    status, done = call(http, "GET", f"/rollouts/{started['rollout_id']}")
    # THEN the rollout is done: alpha moved, beta and gamma failed with their reasons, none hiding another
    assert (status, done["status"], done["succeeded"], done["failed"], done["skipped"]) == (
        200,
        "done",
        1,
        2,
        0,
    )
    results = {r["partner_id"]: r for r in done["results"]}
    assert list(results) == ["alpha", "beta", "gamma"]
    assert (results["alpha"]["outcome"], results["alpha"]["ok"]) == ("succeeded", True)
    assert (results["alpha"]["version"], results["alpha"]["previous_version"]) == (2, 1)
    assert results["beta"]["error"] == "function hookrelay-test-beta does not exist"
    assert results["gamma"]["error"] == "cannot update the code of hookrelay-test-gamma: ServiceException"
    assert [results[p]["ok"] for p in ("beta", "gamma")] == [False, False]
    # AND alpha's live alias runs the new code; gamma's still the old
    assert live("alpha")["Version"] == "2"
    assert live("alpha")["CodeSha256"] == results["alpha"]["code_sha256"]
    assert ctx.partners.get("alpha").code_key == new_key
    assert ctx.partners.get("gamma").code_key != new_key
    assert live("gamma")["Version"] == "1"


def test_update_code_of_chosen_partners_reports_unknown_ones(make_partner: Any, http: Any) -> None:
    # GIVEN one partner, WHEN update-code names it and an unknown one
    # THEN one is skipped (already on the target), the other not found
    make_partner("alpha")
    status, done = rollout(http, {"partner_ids": ["alpha", "nobody"]})
    assert (status, done["total"], done["status"]) == (200, 2, "done")
    assert [(r["partner_id"], r["outcome"], r["error"]) for r in done["results"]] == [
        ("alpha", "skipped", None),
        ("nobody", "failed", "partner 'nobody' does not exist"),
    ]


def test_a_chunk_failing_midway_is_retried_and_the_rollout_completes(
    ctx: Provisioner, make_partner: Any, http: Any
) -> None:
    # GIVEN two partners in one chunk, one worker thread, and the second result's write failing once
    make_partner("alpha")
    make_partner("beta")
    upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    ctx.settings = ctx.settings.model_copy(update={"rollout_threads": 1})
    # puts: the rollout header, alpha's result, beta's result (3rd); partner records are updates
    writes = FailingOnCall(aws("dynamodb"), "put_item", call_number=3)
    ctx.clients.overrides["dynamodb"] = writes
    # WHEN the rollout runs
    started = call(http, "POST", "/update-code", {})[1]
    invocations = run_rollout_worker(http, aws("sqs"), STAGE)
    done = call(http, "GET", f"/rollouts/{started['rollout_id']}")[1]
    # THEN the chunk failed once and was delivered again; the retry did only what was not recorded
    assert invocations == 2
    assert (done["status"], done["total"], done["succeeded"], done["skipped"], done["failed"]) == (
        "done",
        2,
        1,
        1,
        0,
    )
    assert [(r["partner_id"], r["outcome"]) for r in done["results"]] == [
        ("alpha", "succeeded"),
        ("beta", "skipped"),
    ]
    # AND each partner's live alias moved exactly once
    assert (live("alpha")["Version"], live("beta")["Version"]) == ("2", "2")


class FailingOnCall:
    """A client whose ``method`` fails on its ``call_number``-th call only."""

    def __init__(self, real: Any, method: str, call_number: int) -> None:
        self.real, self.method, self.call_number, self.calls = real, method, call_number, 0

    def __getattr__(self, name: str) -> Any:
        if name != self.method:
            return getattr(self.real, name)

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.call_number:
                raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, name)
            return getattr(self.real, name)(**kwargs)

        return call


def test_a_rerun_skips_partners_already_on_the_target(ctx: Provisioner, make_partner: Any, http: Any) -> None:
    # GIVEN three partners rolled out to a new artifact
    for partner_id in ("alpha", "beta", "gamma"):
        make_partner(partner_id)
    upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    assert rollout(http)[1]["succeeded"] == 3
    counting = Counting(aws("lambda"))
    ctx.clients.overrides["lambda"] = counting
    # WHEN update-code runs again for the same artifact
    status, again = rollout(http)
    # THEN every partner is skipped, without a single Lambda change
    assert (status, again["status"], again["skipped"], again["succeeded"], again["failed"]) == (
        200,
        "done",
        3,
        0,
        0,
    )
    assert counting.calls == {}


def test_throttling_backs_off_and_the_partner_still_moves(
    ctx: Provisioner, make_partner: Any, http: Any
) -> None:
    # GIVEN a partner whose code update is throttled twice (TooManyRequestsException), then accepted
    make_partner("alpha")
    upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    throttled = Failing(aws("lambda"), "update_function_code", times=2, code="TooManyRequestsException")
    ctx.clients.overrides["lambda"] = throttled
    sleeps = ctx.clients.sleep.__self__  # type: ignore[attr-defined]
    sleeps.clear()
    # WHEN the rollout runs
    done = rollout(http)[1]
    # THEN the partner moved on the third try, after backing off about 1 s, then about 2 s
    assert (done["succeeded"], throttled.calls, live("alpha")["Version"]) == (1, 3, "2")
    backoffs = [s for s in sleeps if s >= 1.0]
    assert len(backoffs) == 2
    assert 1.0 <= backoffs[0] <= 1.5
    assert 2.0 <= backoffs[1] <= 3.0


def test_throttling_that_does_not_stop_fails_the_chunk_not_the_partner(
    ctx: Provisioner, make_partner: Any, http: Any
) -> None:
    # GIVEN a partner whose code update is throttled six times in a row (every attempt of one invocation)
    make_partner("alpha")
    upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    ctx.clients.overrides["lambda"] = Failing(
        aws("lambda"), "update_function_code", 6, "TooManyRequestsException"
    )
    # WHEN the rollout runs
    started = call(http, "POST", "/update-code", {})[1]
    invocations = run_rollout_worker(http, aws("sqs"), STAGE)
    done = call(http, "GET", f"/rollouts/{started['rollout_id']}")[1]
    # THEN the first invocation gave the chunk back to SQS; the second moved the partner
    assert invocations == 2
    assert (done["status"], done["succeeded"], done["failed"]) == ("done", 1, 0)


def test_results_come_in_pages_and_failures_alone(ctx: Provisioner, make_partner: Any, http: Any) -> None:
    # GIVEN a rollout of three partners, one of which failed
    for partner_id in ("alpha", "beta", "gamma"):
        make_partner(partner_id)
    upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    ctx.clients.overrides["lambda"] = FailingFor(aws("lambda"), naming.partner_function(STAGE, "beta"))
    rollout_id = rollout(http)[1]["rollout_id"]
    # WHEN its results are read two at a time, and then only the failures
    first = call(http, "GET", f"/rollouts/{rollout_id}?limit=2")[1]
    second = call(http, "GET", f"/rollouts/{rollout_id}?limit=2&cursor={first['next_cursor']}")[1]
    failures = call(http, "GET", f"/rollouts/{rollout_id}?outcome=failed")[1]
    # THEN the pages cover every partner once; the failures are beta's alone
    assert [r["partner_id"] for r in first["results"]] == ["alpha", "beta"]
    assert first["next_cursor"] == "beta"
    assert [r["partner_id"] for r in second["results"]] == ["gamma"]
    assert [r["partner_id"] for r in failures["results"]] == ["beta"]


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/rollouts/20261201t000000-abcdef", 404, "rollout '20261201t000000-abcdef' does not exist"),
        ("/rollouts/not-a-rollout", 400, "rollout id 'not-a-rollout' is not one POST /update-code returned"),
    ],
)
def test_unknown_or_malformed_rollout_ids_are_refused(http: Any, path: str, status: int, error: str) -> None:
    assert call(http, "GET", path)[0] == status
    assert call(http, "GET", path)[1]["message"] == error


def test_a_canary_stops_after_its_partners_until_the_operator_continues(
    ctx: Provisioner, make_partner: Any, http: Any
) -> None:
    # GIVEN three partners and a new artifact
    for partner_id in ("alpha", "beta", "gamma"):
        make_partner(partner_id)
    upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    # WHEN update-code runs with a canary of one
    status, canary = rollout(http, {"canary": 1})
    # THEN one partner moved and the rollout waits
    assert (canary["status"], canary["canary"], canary["succeeded"], canary["total"]) == ("canary", 1, 1, 3)
    assert [live(p)["Version"] for p in ("alpha", "beta", "gamma")] == ["2", "1", "1"]
    # WHEN the operator continues
    status, continued = call(http, "POST", f"/rollouts/{canary['rollout_id']}/continue")
    assert (status, continued["status"]) == (200, "running")
    run_rollout_worker(http, aws("sqs"), STAGE)
    # THEN every partner moved, and continuing again is refused
    done = call(http, "GET", f"/rollouts/{canary['rollout_id']}")[1]
    assert (done["status"], done["succeeded"]) == ("done", 3)
    assert call(http, "POST", f"/rollouts/{canary['rollout_id']}/continue")[0] == 409


def test_rollback_moves_live_back_to_the_versions_a_rollout_replaced(
    ctx: Provisioner, make_partner: Any, http: Any
) -> None:
    # GIVEN two partners rolled out to a new artifact (live: version 2), and gamma never part of it
    for partner_id in ("alpha", "beta", "gamma"):
        make_partner(partner_id)
    first_key = ctx.partners.get("alpha").code_key
    upload_artifact(aws("s3"), ctx.settings.bucket, "second = 2")
    done = rollout(http, {"partner_ids": ["alpha", "beta"]})[1]
    # WHEN that rollout is rolled back
    status, started = call(http, "POST", f"/rollouts/{done['rollout_id']}/rollback")
    assert (status, started["status"], started["total"], started["rollback_of"]) == (
        202, "running", 2, done["rollout_id"],
    )  # fmt: skip
    run_rollout_worker(http, aws("sqs"), STAGE)
    back = call(http, "GET", f"/rollouts/{started['rollout_id']}")[1]
    # THEN live is version 1 again for both, gamma untouched, and their records name the old artifact
    assert (back["status"], back["succeeded"], back["skipped"]) == ("done", 2, 0)
    assert [(r["partner_id"], r["version"], r["previous_version"]) for r in back["results"]] == [
        ("alpha", 1, 2),
        ("beta", 1, 2),
    ]
    assert [live(p)["Version"] for p in ("alpha", "beta", "gamma")] == ["1", "1", "1"]
    assert ctx.partners.get("alpha").code_key == first_key
    # AND a second rollback of the same rollout changes nothing (live is no longer what it made)
    again = call(http, "POST", f"/rollouts/{done['rollout_id']}/rollback")[1]
    run_rollout_worker(http, aws("sqs"), STAGE)
    assert call(http, "GET", f"/rollouts/{again['rollout_id']}")[1]["skipped"] == 2
