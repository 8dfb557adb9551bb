"""Capacity: what each partner costs in the account's quotas, how many more fit, and the check create
(and an update that raises a partner's reservation) passes before it makes anything.

``GET /capacity`` (and ``make deploy DRY_RUN=1``) shows, per resource partners spend: used, limit, the
cost of one more partner made with the defaults, partners that still fit, and where the limit came from
(``account``, or ``documented default`` when the endpoint cannot say). The check costs at most the two
cached reads of :mod:`hookrelay.provisioning.quotas` per create, and never a scan of the partners.
A refusal is a 409 naming the quota, its code and how to raise it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from hookrelay import naming
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import Conflict
from hookrelay.partners.model import DeliveryOptions
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.quotas import DOCUMENTED, UNRESERVED_FLOOR, IamAccount, LambdaAccount, Source
from hookrelay.provisioning.settings import ProvisionerSettings

CONSOLE = "the Service Quotas console (https://console.aws.amazon.com/servicequotas/)"
CONCURRENCY_QUOTA = "Lambda 'Concurrent executions' (quota code L-B99A9384)"
STORAGE_QUOTA = "Lambda 'Function and layer storage' (quota code L-2ACBD22F)"
ROLES_QUOTA = "IAM 'Roles per account' (quota code L-FE177D64)"
METRICS_INSIGHTS_ALARMS = 200  # per account and Region, adjustable (CloudWatch alarm limits)
SUBSCRIPTION_FILTERS_PER_GROUP = 2  # CloudWatch Logs: per log group, not adjustable
PUT_SUBSCRIPTION_FILTER_RATE = 5  # CloudWatch Logs: PutSubscriptionFilter requests/s per account and Region


@dataclass(frozen=True)
class PartnerCosts:
    roles: int
    alarms: int


def partner_costs(settings: ProvisionerSettings) -> PartnerCosts:
    """IAM roles and CloudWatch alarms one more partner makes, from the stage's settings (``handler_role``:
    its own role or the stage's shared one; ``partner_alarms``: only listed partners get alarms of their
    own). Read here, and only here."""
    return PartnerCosts(roles=settings.roles_per_partner, alarms=settings.alarms_per_partner)


class Resource(BaseModel):
    resource: str
    quota: str
    unit: str
    used: int | None
    limit: int | None
    per_partner: int | None
    partners_that_fit: int | None  # None: no limit to it (or unknown usage)
    source: Source
    how_to_raise: str
    note: str | None = None


class Capacity(BaseModel):
    stage: str
    partners: int
    resources: list[Resource]


def _fit(used: int | None, limit: int | None, cost: int | None) -> int | None:
    if used is None or limit is None or not cost:
        return None
    return max(0, (limit - used) // cost)


def _code_per_function(lam: LambdaAccount) -> int | None:
    """The account's average stored code per function (its versions included): what one more costs."""
    if not lam.functions or lam.code_storage_used is None:
        return None
    return -(-lam.code_storage_used // lam.functions)


def _lambda_rows(lam: LambdaAccount) -> list[Resource]:
    per_function = _code_per_function(lam)
    return [
        Resource(
            resource="Lambda concurrency reserved or provisioned",
            quota=CONCURRENCY_QUOTA, unit="executions", used=lam.reserved, limit=lam.reservable,
            per_partner=0, partners_that_fit=None, source=lam.source,
            how_to_raise=f"{CONSOLE}: Lambda > Concurrent executions",
            note=f"the limit keeps {UNRESERVED_FLOOR} unreserved; a partner's mapping ceiling "
            "(max_concurrency) reserves nothing: reserved or provisioned concurrency costs this"
            + (f"; {lam.note}" if lam.note else ""),
        ),
        Resource(
            resource="Lambda code storage", quota=STORAGE_QUOTA, unit="bytes", used=lam.code_storage_used,
            limit=lam.code_storage, per_partner=per_function,
            partners_that_fit=_fit(lam.code_storage_used, lam.code_storage, per_function), source=lam.source,
            how_to_raise=f"{CONSOLE}: Lambda > Function and layer storage; or prune old versions",
            note="per partner: the account's stored code per function so far (versions included)",
        ),
        Resource(
            resource="Lambda package size, unzipped (per function, with its layers)",
            quota="Lambda deployment package size (not adjustable)", unit="bytes", used=None,
            limit=lam.code_size_unzipped, per_partner=None, partners_that_fit=None, source=lam.source,
            how_to_raise="not adjustable: move dependencies to the shared layer",
        ),
    ]  # fmt: skip


def _iam_row(iam: IamAccount, costs: PartnerCosts) -> Resource:
    return Resource(
        resource="IAM roles", quota=ROLES_QUOTA, unit="roles", used=iam.roles, limit=iam.roles_quota,
        per_partner=costs.roles, partners_that_fit=_fit(iam.roles, iam.roles_quota, costs.roles),
        source=iam.source, how_to_raise=f"{CONSOLE}: IAM > Roles per account (at most 5,000)",
        note=iam.note,
    )  # fmt: skip


def _alarm_rows(costs: PartnerCosts, settings: ProvisionerSettings) -> list[Resource]:
    return [
        Resource(
            resource="CloudWatch metric alarms", quota="none: no quota on the number of alarms",
            unit="alarms", used=None, limit=None, per_partner=costs.alarms, partners_that_fit=None,
            source=DOCUMENTED, how_to_raise="nothing to raise",
            note=f"billed each; partners listed in partner_alarms get {len(naming.ALARM_KINDS)} each",
        ),
        Resource(
            resource="CloudWatch Metrics Insights alarms", quota="Metrics Insights alarms per Region",
            unit="alarms", used=None, limit=METRICS_INSIGHTS_ALARMS, per_partner=0, partners_that_fit=None,
            source=DOCUMENTED, how_to_raise=f"{CONSOLE}: CloudWatch",
            note=f"the stage's {settings.stage_alarms}, once per stage whatever its partners",
        ),
    ]  # fmt: skip


def _log_subscription_rows() -> list[Resource]:
    """Attempt lines (issue 15): one subscription filter on each partner's log group, put once."""
    return [
        Resource(
            resource="CloudWatch Logs subscription filters per log group",
            quota="Subscription filters per log group (not adjustable)", unit="filters", used=None,
            limit=SUBSCRIPTION_FILTERS_PER_GROUP, per_partner=0, partners_that_fit=None, source=DOCUMENTED,
            how_to_raise="not adjustable: hookrelay takes one on each partner's own log group",
            note="a per-log-group quota: one filter per partner log group, one left for the operator's own",
        ),
        Resource(
            resource="CloudWatch Logs PutSubscriptionFilter rate",
            quota="PutSubscriptionFilter requests per second per account and Region", unit="requests/s",
            used=None, limit=PUT_SUBSCRIPTION_FILTER_RATE, per_partner=0, partners_that_fit=None,
            source=DOCUMENTED, how_to_raise=f"{CONSOLE}: CloudWatch Logs > PutSubscriptionFilter throttle",
            note="one call per create; a rollout subscribes only partners made before attempt lines, once "
            "(4/s shared by its workers): 10,000 such partners take ~42 minutes once, then none",
        ),
    ]  # fmt: skip


def count_partners(ctx: Provisioner) -> int:
    """The partners table's item count (a COUNT scan: for the operator's read, never per create)."""
    try:
        pages = ctx.clients.dynamodb.get_paginator("scan").paginate(
            TableName=naming.partners_table(ctx.stage), Select="COUNT"
        )
        return sum(page.get("Count", 0) for page in pages)
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):  # a stage not deployed yet has no partners
            return 0
        raise aws_error("count partners", exc) from exc


def capacity(ctx: Provisioner) -> Capacity:
    costs = partner_costs(ctx.settings)
    lam = ctx.quotas.lambda_account(ctx.clients)
    iam = ctx.quotas.iam_account(ctx.clients)
    rows = [*_lambda_rows(lam), _iam_row(iam, costs), *_alarm_rows(costs, ctx.settings)]
    rows += _log_subscription_rows()
    return Capacity(stage=ctx.stage, partners=count_partners(ctx), resources=rows)


def _shown(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def capacity_table(report: Capacity) -> str:
    """The report as text: one line per resource, then where each limit is raised."""
    lines = [f"capacity of stage {report.stage}: {report.partners:,} partners"]
    lines.append(f"   {'resource':<44} {'used':>16} {'limit':>16} {'per partner':>12} {'fit':>10}  source")
    for row in report.resources:
        lines.append(
            f"   {row.resource[:44]:<44} {_shown(row.used):>16} {_shown(row.limit):>16} "
            f"{_shown(row.per_partner):>12} {_shown(row.partners_that_fit):>10}  {row.source}"
        )
    lines += [f"   {row.resource}: {row.quota}; raise: {row.how_to_raise}" for row in report.resources]
    return "\n".join(lines)


def _refuse(what: str, quota: str, how: str) -> Conflict:
    alternative = _ALTERNATIVE[quota]
    return Conflict(f"{what}: it would break {quota}; raise it in {CONSOLE} ({how}), or {alternative}")


_ALTERNATIVE = {
    CONCURRENCY_QUOTA: "ask for less reserved_concurrency / provisioned_concurrency (or none)",
    STORAGE_QUOTA: "prune old function and layer versions",
    ROLES_QUOTA: "delete roles the account no longer uses",
}


def check_concurrency(ctx: Provisioner, partner_id: str, more: int) -> None:
    """Refuse taking ``more`` of the account's concurrency when it would leave under 100 unreserved."""
    if more <= 0:
        return
    lam = ctx.quotas.lambda_account(ctx.clients)
    left = (lam.unreserved if lam.unreserved is not None else lam.concurrent_executions) - more
    if left < UNRESERVED_FLOOR:
        known = "" if lam.unreserved is not None else f" (usage unknown: {lam.source})"
        raise _refuse(
            f"partner {partner_id!r} would take {more} more concurrent executions, leaving {left} of "
            f"{lam.concurrent_executions} unreserved; Lambda keeps at least {UNRESERVED_FLOOR}{known}",
            CONCURRENCY_QUOTA,
            "Lambda > Concurrent executions",
        )


def check_new_partner(ctx: Provisioner, partner_id: str, options: DeliveryOptions) -> None:
    """Everything one more partner takes must fit: its role(s), its code, its concurrency claim."""
    costs = partner_costs(ctx.settings)
    iam = ctx.quotas.iam_account(ctx.clients)
    if costs.roles and iam.roles is not None and iam.roles + costs.roles > iam.roles_quota:
        raise _refuse(
            f"partner {partner_id!r} needs {costs.roles} IAM role(s); "
            f"{iam.roles} of {iam.roles_quota} are used",
            ROLES_QUOTA,
            "IAM > Roles per account",
        )
    lam = ctx.quotas.lambda_account(ctx.clients)
    code, used = _code_per_function(lam), lam.code_storage_used
    if code is not None and used is not None and used + code > lam.code_storage:
        raise _refuse(
            f"partner {partner_id!r} needs about {code} bytes of code storage; "
            f"{used} of {lam.code_storage} are used",
            STORAGE_QUOTA,
            "Lambda > Function and layer storage",
        )
    check_concurrency(ctx, partner_id, options.claimed_concurrency())
