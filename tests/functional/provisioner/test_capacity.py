"""Capacity on moto: GET /capacity, the quota check create and update pass before making anything, and
what a partner costs in AWS calls and concurrency (reservation opt-in, the mapping's ceiling)."""

from __future__ import annotations

from typing import Any

import pytest

from hookrelay import naming
from hookrelay.errors import Conflict
from hookrelay.partners.model import PartnerCreate
from hookrelay.partners.update import PartnerUpdate
from hookrelay.provisioning.capacity import PartnerCosts, check_new_partner, partner_costs
from hookrelay.provisioning.changes import update_partner
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.lifecycle import create_partner
from hookrelay.provisioning.quotas import IamAccount, QuotaReader
from hookrelay_local.capacity_report import show_capacity

from .conftest import STAGE, URL, Failing, aws, writes
from .test_api import call
from .test_create_delete import tagged


class SmallAccount:
    """The moto Lambda client, answering GetAccountSettings as an account with little concurrency would."""

    def __init__(self, real: Any, concurrent: int, unreserved: int) -> None:
        self.real, self.concurrent, self.unreserved = real, concurrent, unreserved
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def get_account_settings(self) -> dict[str, Any]:
        self.reads += 1
        return {
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800,
                "CodeSizeUnzipped": 262_144_000,
                "CodeSizeZipped": 52_428_800,
                "ConcurrentExecutions": self.concurrent,
                "UnreservedConcurrentExecutions": self.unreserved,
            },
            "AccountUsage": {"TotalCodeSize": 10_000_000, "FunctionCount": 4},
        }


def small_account(ctx: Provisioner, concurrent: int = 150, unreserved: int = 120) -> SmallAccount:
    lambda_ = SmallAccount(aws("lambda"), concurrent, unreserved)
    ctx.clients.overrides["lambda"] = lambda_
    return lambda_


def by_resource(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["resource"]: row for row in answer["resources"]}


def test_capacity_falls_back_to_documented_defaults_where_moto_has_no_answer(
    http: Any, make_partner: Any
) -> None:
    # GIVEN one partner on moto (which lacks Lambda's GetAccountSettings but has IAM's GetAccountSummary)
    make_partner("acme")
    # WHEN the capacity is read
    status, answer = call(http, "GET", "/capacity")
    # THEN 200 with one row per resource partners spend
    assert (status, answer["stage"], answer["partners"]) == (200, STAGE, 1)
    rows = by_resource(answer)
    assert sorted(rows) == [
        "CloudWatch Logs PutSubscriptionFilter rate",
        "CloudWatch Logs subscription filters per log group",
        "CloudWatch Metrics Insights alarms",
        "CloudWatch metric alarms",
        "IAM roles",
        "Lambda code storage",
        "Lambda concurrency reserved or provisioned",
        "Lambda package size, unzipped (per function, with its layers)",
    ]
    # AND Lambda's limits are the documented defaults, said so, with usage unknown
    concurrency = rows["Lambda concurrency reserved or provisioned"]
    assert (concurrency["source"], concurrency["limit"], concurrency["used"]) == (
        "documented default",
        900,
        None,
    )
    assert (concurrency["per_partner"], concurrency["partners_that_fit"]) == (0, None)
    assert "GetAccountSettings unavailable" in concurrency["note"]
    assert "L-B99A9384" in concurrency["quota"]
    storage = rows["Lambda code storage"]
    assert (storage["source"], storage["limit"], storage["used"]) == (
        "documented default",
        75 * 1024**3,
        None,
    )
    # AND the roles come from the account: the partner's one role of 1,000, so 999 more partners fit
    roles = rows["IAM roles"]
    assert (
        roles["source"],
        roles["used"],
        roles["limit"],
        roles["per_partner"],
        roles["partners_that_fit"],
    ) == (
        "account",
        1,
        1000,
        1,
        999,
    )
    # AND alarms: none per partner by default (no quota on their number); the stage's Metrics Insights
    # alarms are once per stage, under their own quota of 200
    alarms = rows["CloudWatch metric alarms"]
    assert (alarms["per_partner"], alarms["limit"], alarms["source"]) == (0, None, "documented default")
    insights = rows["CloudWatch Metrics Insights alarms"]
    assert (insights["per_partner"], insights["limit"], insights["source"]) == (0, 200, "documented default")
    # AND attempt lines (issue 15): a filter on each partner's own log group (2 allowed per group), and the
    # PutSubscriptionFilter rate create and rollouts spend (5/s per account)
    filters = rows["CloudWatch Logs subscription filters per log group"]
    assert (filters["limit"], filters["per_partner"], filters["source"]) == (2, 0, "documented default")
    rate = rows["CloudWatch Logs PutSubscriptionFilter rate"]
    assert (rate["limit"], rate["unit"], rate["source"]) == (5, "requests/s", "documented default")


def test_capacity_shows_the_accounts_own_lambda_numbers(ctx: Provisioner, http: Any) -> None:
    # GIVEN an account with 150 concurrent executions, 30 of them reserved, 10 MB of code in 4 functions
    small_account(ctx)
    # WHEN the capacity is read
    rows = by_resource(call(http, "GET", "/capacity")[1])
    # THEN reservable = 150 - 100 kept unreserved, 30 used; code storage per partner = 10 MB / 4
    concurrency = rows["Lambda concurrency reserved or provisioned"]
    assert (concurrency["source"], concurrency["used"], concurrency["limit"]) == ("account", 30, 50)
    storage = rows["Lambda code storage"]
    assert (storage["used"], storage["limit"], storage["per_partner"]) == (
        10_000_000,
        80_530_636_800,
        2_500_000,
    )
    assert storage["partners_that_fit"] == (80_530_636_800 - 10_000_000) // 2_500_000
    assert rows["Lambda package size, unzipped (per function, with its layers)"]["limit"] == 262_144_000


def test_a_reservation_that_breaks_the_unreserved_floor_is_refused_before_anything_is_made(
    ctx: Provisioner, http: Any, aws_calls: list[str]
) -> None:
    # GIVEN an account with 120 of 150 concurrent executions unreserved
    small_account(ctx, concurrent=150, unreserved=120)
    # WHEN a partner asks to reserve 25 (120 - 25 = 95, under the 100 Lambda keeps unreserved)
    body = {"partner_id": "acme", "url": URL, "reserved_concurrency": 25}
    status, answer = call(http, "POST", "/partners", body)
    # THEN 409 naming the quota, its code and where to raise it
    assert (status, answer["error"]) == (409, "conflict")
    assert "leaving 95 of 150 unreserved" in answer["message"]
    assert "Lambda 'Concurrent executions' (quota code L-B99A9384)" in answer["message"]
    assert "Service Quotas console" in answer["message"]
    # AND nothing was made or written: no partner, no tagged resource, no AWS write call
    assert ctx.partners.find("acme") is None
    assert tagged("acme") == []
    assert writes(aws_calls) == []


def test_a_reservation_that_keeps_the_floor_is_made(ctx: Provisioner, make_partner: Any) -> None:
    # GIVEN 120 of 150 unreserved, WHEN a partner reserves 20 (leaving exactly 100)
    small_account(ctx, concurrent=150, unreserved=120)
    make_partner("acme", reserved_concurrency=20)
    # THEN its function holds the reservation
    function = aws("lambda").get_function(FunctionName=naming.partner_function(STAGE, "acme"))
    assert function["Concurrency"] == {"ReservedConcurrentExecutions": 20}


def test_a_burst_of_creates_reads_the_account_once_and_counts_what_it_took(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN 120 of 150 unreserved, read once and cached for the burst
    account = small_account(ctx, concurrent=150, unreserved=120)
    # WHEN one partner reserves 10, then another asks for 15 (120 - 10 - 15 = 95)
    make_partner("one", reserved_concurrency=10)
    with pytest.raises(Conflict, match="leaving 95 of 150 unreserved"):
        make_partner("two", reserved_concurrency=15)
    # THEN the second was refused on the cached numbers plus what the first took: one read in all
    assert account.reads == 1
    assert ctx.partners.find("two") is None


def test_an_update_raising_the_reservation_past_the_floor_is_refused(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a partner with no reservation, in an account with 110 of 150 unreserved
    make_partner("acme")
    small_account(ctx, concurrent=150, unreserved=110)
    ctx.quotas = QuotaReader()
    # WHEN it asks for a reservation of 20, THEN 409 and the function still has none
    with pytest.raises(Conflict, match="L-B99A9384"):
        update_partner(ctx, "acme", PartnerUpdate(reserved_concurrency=20))
    function = aws("lambda").get_function(FunctionName=naming.partner_function(STAGE, "acme"))
    assert "Concurrency" not in function
    assert ctx.partners.get("acme").reserved_concurrency is None


def test_a_full_roles_quota_refuses_a_new_partner(ctx: Provisioner) -> None:
    # GIVEN an account whose 1,000 roles are all used
    ctx.quotas = QuotaReader(read_iam=lambda _: IamAccount(roles=1000, roles_quota=1000, source="account"))
    # WHEN a partner is created, THEN 409 naming the IAM quota; nothing is stored
    with pytest.raises(Conflict, match=r"IAM 'Roles per account' \(quota code L-FE177D64\)"):
        create_partner(ctx, PartnerCreate(partner_id="acme", url=URL))
    assert ctx.partners.find("acme") is None


def test_a_partner_without_a_reservation_reserves_nothing(make_partner: Any, aws_calls: list[str]) -> None:
    # WHEN a partner is created with the defaults
    make_partner("acme")
    # THEN its function has no reserved concurrency, and none was ever asked for
    function = aws("lambda").get_function(FunctionName=naming.partner_function(STAGE, "acme"))
    assert "Concurrency" not in function
    assert "lambda:PutFunctionConcurrency" not in aws_calls


def test_the_mapping_ceiling_follows_max_concurrency_and_null_releases_a_reservation(
    ctx: Provisioner, make_partner: Any
) -> None:
    # GIVEN a partner with ceiling 7 and a reservation of 8
    make_partner("acme", max_concurrency=7, reserved_concurrency=8)
    function = naming.partner_function(STAGE, "acme")

    def scaling() -> dict[str, int]:
        (mapping,) = aws("lambda").list_event_source_mappings(FunctionName=function + ":live")[
            "EventSourceMappings"
        ]
        return dict(mapping["ScalingConfig"])

    assert scaling() == {"MaximumConcurrency": 7}
    # WHEN the ceiling goes to 9 and the reservation is released (null)
    update = PartnerUpdate.model_validate({"max_concurrency": 9, "reserved_concurrency": None})
    updated = update_partner(ctx, "acme", update)
    # THEN the mapping's ceiling is 9 and the function holds no reservation
    assert scaling() == {"MaximumConcurrency": 9}
    assert "Concurrency" not in aws("lambda").get_function(FunctionName=function)
    assert (updated.max_concurrency, updated.reserved_concurrency) == (9, None)


def test_create_makes_a_pinned_number_of_aws_calls(
    ctx: Provisioner, make_partner: Any, aws_calls: list[str]
) -> None:
    # GIVEN moto (no Lambda account settings: the fallback costs the same one call)
    # WHEN two partners are created with the defaults, the second within the quota cache's seconds
    make_partner("one")
    first = list(aws_calls)
    aws_calls.clear()
    make_partner("two")
    # THEN the first makes 25 calls (31 before issue 13; 28 with stage alarms; 23 once the shared ARNs and
    # queue URLs were read once and no reservation set; + PublishVersion and CreateAlias for the live
    # alias), two of them the account's quotas; the second, on cached quotas, 23; + one PutItem filing the
    # partner in the events router's subscription index (issue 14); + one PutSubscriptionFilter (attempt
    # lines to the recorder, issue 15) each, and the first one GetFunction finding the recorder (cached)
    assert len(first) == 28, first
    assert (first.count("lambda:GetAccountSettings"), first.count("iam:GetAccountSummary")) == (1, 1)
    assert (first.count("sns:CreateTopic"), first.count("sqs:GetQueueUrl")) == (1, 1)
    assert len(aws_calls) == 25, aws_calls
    assert aws_calls.count("logs:PutSubscriptionFilter") == 1
    assert "lambda:GetAccountSettings" not in aws_calls
    # AND of Lambda's shared 15/s control-plane budget (GetFunction has its own) a create spends 5:
    # CreateFunction, PublishVersion, CreateAlias, ListEventSourceMappings, CreateEventSourceMapping
    control_plane = [c for c in aws_calls if c.startswith("lambda:") and c != "lambda:GetFunction"]
    assert len(control_plane) == 5, control_plane


def test_the_deploy_dry_run_prints_the_same_capacity_table(
    ctx: Provisioner, make_partner: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a stage with one partner, on an account with 120 of 150 concurrent executions unreserved
    make_partner("acme")
    small_account(ctx)
    # WHEN `make deploy DRY_RUN=1`'s capacity step runs with the deploying credentials
    show_capacity(STAGE, ctx.clients)
    # THEN it prints the GET /capacity report as a table: a line per resource, then where to raise each
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"capacity of stage {STAGE}: 1 partners"
    rows = {line.strip().split("  ")[0]: line.split() for line in lines[2:8]}
    assert rows["IAM roles"][-5:] == ["1", "1,000", "1", "999", "account"]
    assert rows["Lambda concurrency reserved or provisioned"][-5:] == ["30", "50", "0", "-", "account"]
    raise_roles = [line for line in lines[8:] if line.strip().startswith("IAM roles:")]
    assert raise_roles[0].startswith(
        "   IAM roles: IAM 'Roles per account' (quota code L-FE177D64); raise: the"
    )


def test_the_deploy_dry_run_says_why_when_capacity_cannot_be_read(
    ctx: Provisioner, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN Lambda throttling the account read (not a missing API: no default stands in for it)
    ctx.clients.overrides["lambda"] = Failing(
        aws("lambda"), "get_account_settings", code="ThrottlingException"
    )
    # WHEN the dry run's capacity step runs, THEN it says why and does not stop the dry run
    show_capacity(STAGE, ctx.clients)
    assert capsys.readouterr().out.startswith("capacity: not read (cannot read the Lambda account settings")


def test_with_the_shared_handler_role_a_full_roles_quota_refuses_nobody(ctx: Provisioner) -> None:
    # GIVEN a stage whose partners share one handler role, in an account whose 1,000 roles are all used
    ctx.settings = ctx.settings.model_copy(update={"handler_role": "shared", "partner_alarms": ("acme",)})
    ctx.quotas = QuotaReader(read_iam=lambda _: IamAccount(roles=1000, roles_quota=1000, source="account"))
    # THEN one more partner costs no role (and, by default, no alarm of its own), and passes the check
    assert partner_costs(ctx.settings) == PartnerCosts(roles=0, alarms=0)
    check_new_partner(ctx, "globex", PartnerCreate(partner_id="globex", url=URL))
