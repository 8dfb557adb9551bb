"""The fleet page: a page of partners with their figures, filters, sort links and the pager (pure)."""

from __future__ import annotations

from urllib.parse import urlencode

from hookrelay.provisioning.console.fleet import FleetPage, FleetQuery, FleetRow
from hookrelay.provisioning.console.html import Safe, fill, join, page, tag
from hookrelay.provisioning.console.pages import REFRESH_SECONDS, age, badge, depth, ms, nav, rate


def _sort_link(base: str, query: FleetQuery, key: str, label: str) -> Safe:
    descending = query.sort == key and not query.descending
    params = _query_params(query, sort=key, dir="desc" if descending else "asc", cursor=None)
    arrow = (" ▼" if query.descending else " ▲") if query.sort == key else ""
    return tag("a", label + arrow, href=f"{base}/console?{urlencode(params)}")


def _query_params(query: FleetQuery, **changes: object) -> dict[str, str]:
    params: dict[str, object] = {
        "limit": query.limit,
        "status": query.status.value if query.status else None,
        "q": query.prefix or None,
        "sort": query.sort,
        "dir": "desc" if query.descending else "asc",
        "cursor": query.cursor,
        **changes,
    }
    return {k: str(v) for k, v in params.items() if v is not None}


def _fleet_row(base: str, row: FleetRow) -> Safe:
    p = row.partner
    badges = [badge(p.status.value)]  # paused (issue 16) is a status: its badge says why
    if p.pause is not None and p.status.value == "paused":
        badges = [tag("span", f"paused: {p.pause.reason}", class_="badge paused", title=p.pause.last_error)]
    if p.gone_at is not None:
        badges.append(badge("gone"))
    return fill(
        "<tr><td>{id}</td><td>{badges}</td><td class=num>{queue}</td><td class=num>{dlq}</td>"
        "<td class=num>{oldest}</td><td class=num>{attempts}</td><td class=num>{rate}</td>"
        "<td class=num>{p95}</td></tr>",
        id=tag("a", p.partner_id, href=f"{base}/console/partners/{p.partner_id}"),
        badges=join(badges, " "),
        queue=depth(row.queue),
        dlq=depth(row.dead_letter_queue),
        oldest=age(row.oldest_age_seconds),
        attempts=row.hour.attempts,
        rate=rate(row.hour),
        p95=ms(row.hour.p95_ms),
    )


def fleet_page_html(base: str, csrf: str, query: FleetQuery, fleet: FleetPage) -> Safe:
    statuses = join(
        tag(
            "option",
            s or "any status",
            value=s,
            selected=(query.status is not None and query.status.value == s),
        )
        for s in ("", "active", "paused", "disabled", "provisioning")
    )
    filters = fill(
        '<form class="filters" method="get" action="{base}/console">'
        '<input name="q" placeholder="id starts with" value="{q}" maxlength="32">'
        '<select name="status">{statuses}</select>'
        '<select name="limit">{limits}</select><button>Filter</button></form>',
        base=base,
        q=query.prefix,
        statuses=statuses,
        limits=join(tag("option", n, value=n, selected=n == query.limit) for n in (10, 25, 50)),
    )
    head = join(
        tag("th", _sort_link(base, query, key, label))
        for key, label in (("id", "Partner"), ("status", "Status"), ("queue", "Queue"), ("dlq", "DLQ"))
    )
    head = join(
        [head, tag("th", _sort_link(base, query, "oldest", "Oldest message")), tag("th", "Attempts (1 h)")]
    )
    head = join(
        [
            head,
            tag("th", _sort_link(base, query, "success", "Success (1 h)")),
            tag("th", _sort_link(base, query, "p95", "p95 (1 h)")),
        ]
    )
    rows = join(_fleet_row(base, row) for row in fleet.rows) or Safe(
        '<tr><td colspan="8">No partners on this page.</td></tr>'
    )
    pager = [tag("a", "First page", href=f"{base}/console?{urlencode(_query_params(query, cursor=None))}")]
    if fleet.next_cursor:
        nxt = urlencode(_query_params(query, cursor=fleet.next_cursor))
        pager.append(tag("a", "Next page", href=f"{base}/console?{nxt}", id="next-page"))
    body = fill(
        '<h1>Fleet</h1>{filters}<section id="live"><table id="fleet"><thead><tr>{head}</tr></thead>'
        "<tbody>{rows}</tbody></table></section><p>{pager} <span id=refreshed></span></p>"
        "<p>* over the latest attempts only. Success and p95 read the attempt log of the last hour; "
        "sorting orders this page.</p>",
        filters=filters,
        head=head,
        rows=rows,
        pager=join(pager, " · "),
    )
    return page("Fleet", body, base, refresh=REFRESH_SECONDS, nav=nav(base, csrf))
