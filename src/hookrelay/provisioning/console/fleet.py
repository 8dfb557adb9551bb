"""The fleet view's data: one page of partners (at most :data:`MAX_PAGE`), each with its queue and DLQ
depth and its last hour. Per partner on the page: 2 GetQueueUrl + 2 GetQueueAttributes + 1 Query, run
on a few threads; plus one Scan for the page and one CloudWatch GetMetricData for the page's oldest
message ages (:mod:`.ages`). Never a call for a partner that is not on the page.

Filters narrow the Scan (``status`` equal, id prefix) with a FilterExpression, so a filtered page may
hold fewer partners than asked (DynamoDB applies ``Limit`` before the filter): "next" goes on.
Sorting orders the rows of the page shown (a global order over 10,000 partners would need a scan).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.aws.pages import decode_cursor, encode_cursor
from hookrelay.errors import InvalidInput
from hookrelay.partners.model import Partner, PartnerStatus
from hookrelay.partners.ordering import dead_letter_queue_name, queue_name
from hookrelay.provisioning.console.ages import oldest_ages
from hookrelay.provisioning.console.stats import HourStats, last_hour
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.resources.queues import depths

MAX_PAGE = 50
DEFAULT_PAGE = 25
THREADS = 8
SortKey = Literal["id", "status", "queue", "dlq", "oldest", "success", "p95"]
SORTS: tuple[str, ...] = ("id", "status", "queue", "dlq", "oldest", "success", "p95")


class FleetQuery(BaseModel):
    limit: int = DEFAULT_PAGE
    cursor: str | None = None
    status: PartnerStatus | None = None
    prefix: str = ""
    sort: SortKey = "id"
    descending: bool = False

    @classmethod
    def from_query(cls, query: dict[str, str]) -> FleetQuery:
        """The query string, checked: bad values are a 400 that says which."""
        limit = query.get("limit") or str(DEFAULT_PAGE)
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= MAX_PAGE:
            raise InvalidInput(f"limit must be a whole number from 1 to {MAX_PAGE}")
        status = query.get("status") or None
        if status is not None and status not in {s.value for s in PartnerStatus}:
            raise InvalidInput(f"status must be one of {', '.join(s.value for s in PartnerStatus)}")
        sort = query.get("sort") or "id"
        if sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(SORTS)}")
        prefix = (query.get("q") or "").strip().lower()
        if len(prefix) > 32:
            raise InvalidInput("the id filter is at most 32 characters")
        try:
            return cls(
                limit=int(limit),
                cursor=query.get("cursor") or None,
                status=status,
                prefix=prefix,
                sort=sort,
                descending=query.get("dir") == "desc",
            )
        except ValidationError as exc:
            raise InvalidInput("bad fleet query") from exc


class FleetRow(BaseModel):
    partner: Partner
    queue: dict[str, int] | None
    dead_letter_queue: dict[str, int] | None
    hour: HourStats
    oldest_age_seconds: int | None = None  # CloudWatch's latest figure (see ages.py); None: none reported


class FleetPage(BaseModel):
    rows: list[FleetRow]
    next_cursor: str | None


def _scan(ctx: Provisioner, query: FleetQuery) -> tuple[list[Partner], str | None]:
    scan: dict[str, Any] = {"TableName": naming.partners_table(ctx.stage), "Limit": query.limit}
    if query.cursor:
        scan["ExclusiveStartKey"] = decode_cursor(query.cursor, ("partner_id",))
    filters, values, names = [], {}, {}
    if query.status is not None:
        filters.append("#status = :status")
        values[":status"] = {"S": query.status.value}
        names["#status"] = "status"
    if query.prefix:
        filters.append("begins_with(partner_id, :prefix)")
        values[":prefix"] = {"S": query.prefix}
    if filters:
        scan["FilterExpression"] = " AND ".join(filters)
        scan["ExpressionAttributeValues"] = values
        if names:
            scan["ExpressionAttributeNames"] = names
    try:
        response = ctx.clients.dynamodb.scan(**scan)
    except AWS_ERRORS as exc:
        raise aws_error("list partners", exc) from exc
    partners = []
    for item in response.get("Items", []):
        try:
            partners.append(Partner.model_validate_json(item["doc"]["S"]))
        except (ValidationError, KeyError):
            continue
    return partners, encode_cursor(response.get("LastEvaluatedKey"))


def _row(ctx: Provisioner, partner: Partner, now: datetime) -> FleetRow:
    stage, clients, pid = ctx.stage, ctx.clients, partner.partner_id
    return FleetRow(
        partner=partner,
        queue=depths(queue_name(stage, pid, partner.ordering), clients),
        dead_letter_queue=depths(dead_letter_queue_name(stage, pid, partner.ordering), clients),
        hour=last_hour(AttemptLog(stage, clients=clients), pid, now),
    )


def _sort_value(row: FleetRow, key: str) -> Any:
    if key == "status":
        return row.partner.status.value
    if key == "queue":
        return sum((row.queue or {}).values())
    if key == "dlq":
        return sum((row.dead_letter_queue or {}).values())
    if key == "oldest":
        return -1 if row.oldest_age_seconds is None else row.oldest_age_seconds
    if key == "success":
        return -1.0 if row.hour.success_rate is None else row.hour.success_rate
    if key == "p95":
        return -1 if row.hour.p95_ms is None else row.hour.p95_ms
    return row.partner.partner_id


def sort_rows(rows: list[FleetRow], key: str, descending: bool) -> list[FleetRow]:
    """The page's rows by ``key`` (ties by id), missing figures first when ascending."""
    ordered = sorted(rows, key=lambda r: r.partner.partner_id)
    return sorted(ordered, key=lambda r: _sort_value(r, key), reverse=descending)


def fleet_page(ctx: Provisioner, query: FleetQuery) -> FleetPage:
    partners, next_cursor = _scan(ctx, query)
    now = ctx.clock()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        rows = list(pool.map(lambda p: _row(ctx, p, now), partners))
    orderings = {p.partner_id: p.ordering for p in partners if p.ordering != "none"}
    ages = oldest_ages(ctx.stage, [p.partner_id for p in partners], now, ctx.clients, orderings)
    rows = [r.model_copy(update={"oldest_age_seconds": ages.get(r.partner.partner_id)}) for r in rows]
    return FleetPage(rows=sort_rows(rows, query.sort, query.descending), next_cursor=next_cursor)
