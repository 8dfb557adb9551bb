"""The console's and the portal's pages, rendered from data (pure: no AWS, no request).

Every value passes through :func:`hookrelay.provisioning.console.html.h` (via ``fill``/``tag``), so what
a partner controls (its URL, its response excerpts, error text) is shown as text. No page holds a secret,
except :func:`secret_page`, the one-time answer to a rotation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from hookrelay.models import AttemptRecord
from hookrelay.provisioning.console.fleet import FleetPage, FleetQuery, FleetRow
from hookrelay.provisioning.console.html import Safe, fill, h, join, page, tag
from hookrelay.provisioning.console.stats import HourStats

REFRESH_SECONDS = 15  # live refresh; the script refuses anything under 10 s
EXCERPT_CHARS = 300


def _nav(base: str, csrf: str | None) -> Safe:
    if csrf is None:
        return Safe("")
    logout = fill(
        '<form class="inline" method="post" action="{base}/console/logout">'
        '<input type="hidden" name="csrf" value="{csrf}"><button>Log out</button></form>',
        base=base,
        csrf=csrf,
    )
    return join([tag("a", "Fleet", href=f"{base}/console"), logout], " ")


def _badge(text: object, kind: object = None) -> Safe:
    return tag("span", text, class_=f"badge {kind or text}")


def _depth(counts: Mapping[str, int] | None) -> str:
    if counts is None:
        return "—"
    return str(sum(counts.values()))


def _rate(stats: HourStats) -> str:
    if stats.success_rate is None:
        return "—"
    return f"{stats.success_rate * 100:.1f} %" + ("*" if stats.capped else "")


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min" if seconds < 7200 else f"{seconds // 3600} h"


def _ms(value: int | None) -> str:
    return "—" if value is None else f"{value} ms"


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _form(base: str, action: str, label: str, csrf: str, confirm: str | None = None, **fields: str) -> Safe:
    hidden = join(tag("input", type="hidden", name=k, value=v) for k, v in {"csrf": csrf, **fields}.items())
    return fill(
        '<form class="inline" method="post" action="{action}"{confirm}>{hidden}'
        "<button>{label}</button></form>",
        action=f"{base}{action}",
        confirm=Safe(f' data-confirm="{h(confirm)}"') if confirm else Safe(""),
        hidden=hidden,
        label=label,
    )


def login_page(base: str, message: str | None = None) -> Safe:
    form = fill(
        '<h1>Operator login</h1>{message}<form method="post" action="{base}/console/login">'
        '<label>Operator token <input type="password" name="token" autocomplete="off" required></label> '
        "<button>Log in</button></form><p>The token is the stage's secret <code>hookrelay/&lt;stage&gt;/"
        "console</code> (<code>make run</code> prints the local one).</p>",
        base=base,
        message=tag("p", message, class_="error") if message else "",
    )
    return page("Login", form, base)


def error_page(base: str, status: int, message: str, logged_in: bool = False) -> Safe:
    back = tag("a", "Back to the fleet", href=f"{base}/console") if logged_in else ""
    return page(
        f"Error {status}",
        fill(
            "<h1>{status}</h1>{text}{back}", status=status, text=tag("p", message, class_="error"), back=back
        ),
        base,
    )


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
    badges = [_badge(p.status.value)]
    if p.gone_at is not None:
        badges.append(_badge("gone"))
    # "paused" (issue 16) gets its badge here once the partner model has it.
    return fill(
        "<tr><td>{id}</td><td>{badges}</td><td class=num>{queue}</td><td class=num>{dlq}</td>"
        "<td class=num>{oldest}</td><td class=num>{attempts}</td><td class=num>{rate}</td>"
        "<td class=num>{p95}</td></tr>",
        id=tag("a", p.partner_id, href=f"{base}/console/partners/{p.partner_id}"),
        badges=join(badges, " "),
        queue=_depth(row.queue),
        dlq=_depth(row.dead_letter_queue),
        oldest=_age(row.oldest_age_seconds),
        attempts=row.hour.attempts,
        rate=_rate(row.hour),
        p95=_ms(row.hour.p95_ms),
    )


def fleet_page_html(base: str, csrf: str, query: FleetQuery, fleet: FleetPage) -> Safe:
    statuses = join(
        tag(
            "option",
            s or "any status",
            value=s,
            selected=(query.status is not None and query.status.value == s),
        )
        for s in ("", "active", "disabled", "provisioning")
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
    return page("Fleet", body, base, refresh=REFRESH_SECONDS, nav=_nav(base, csrf))


def attempts_table(records: list[AttemptRecord]) -> Safe:
    """The attempt log: time, webhook, topic, attempt, outcome, status, duration, error, response."""
    rows = join(
        fill(
            "<tr><td>{at}</td><td>{webhook}</td><td>{topic}</td><td class=num>{attempt}</td>"
            "<td>{outcome}</td><td class=num>{status}</td><td class=num>{duration}</td><td>{error}</td>"
            '<td class="excerpt">{excerpt}</td></tr>',
            at=_when(r.at),
            webhook=r.webhook_id,
            topic=r.topic or "",
            attempt=r.attempt,
            outcome=_badge(r.outcome.value),
            status=r.status_code if r.status_code is not None else "",
            duration=_ms(r.duration_ms),
            error=" ".join(x for x in (r.error_kind or "", r.error or "") if x),
            excerpt=(r.response_excerpt or "")[:EXCERPT_CHARS],
        )
        for r in records
    ) or Safe('<tr><td colspan="9">No attempts yet.</td></tr>')
    return fill(
        '<table id="attempts"><thead><tr><th>Time (UTC)</th><th>Webhook</th><th>Topic</th><th>#</th>'
        "<th>Outcome</th><th>Status</th><th>Duration</th><th>Error</th><th>Response</th></tr></thead>"
        "<tbody>{rows}</tbody></table>",
        rows=rows,
    )


SETTINGS_SHOWN = (
    "url", "status", "event_types", "max_concurrency", "reserved_concurrency", "provisioned_concurrency",
    "post_concurrency", "connect_timeout", "read_timeout", "retry_policy", "legacy_signature",
    "max_requests_per_second", "adaptive_rate", "created_at", "updated_at", "gone_at", "last_error",
)  # fmt: skip


def _settings(partner: Mapping[str, Any]) -> Safe:
    return tag(
        "dl", join(join([tag("dt", k), tag("dd", partner.get(k))]) for k in SETTINGS_SHOWN if k in partner)
    )


def partner_page_html(
    base: str,
    csrf: str,
    state: Mapping[str, Any],
    hour: HourStats,
    records: list[AttemptRecord],
    next_cursor: str | None,
    done: str | None = None,
) -> Safe:
    """``state``: the ``status`` operation's answer; ``records``: a page of the ``deliveries`` one."""
    partner = state["partner"]
    pid = partner["partner_id"]
    at = f"/console/partners/{pid}"
    enabled = partner.get("status") != "disabled"
    actions = [
        _form(base, f"{at}/disable", "Disable", csrf, f"Stop delivering to {pid}? Messages are kept.")
        if enabled
        else _form(base, f"{at}/enable", "Enable", csrf, f"Resume delivering to {pid}?"),
        _form(
            base,
            f"{at}/rotate-secret",
            "Rotate secret",
            csrf,
            f"Rotate the signing secret of {pid}? The new one is shown once; the old one signs for a "
            "grace period.",
        ),
        _form(base, f"{at}/test-event", "Send a test event", csrf, f"Send a test event to {pid}?"),
        _form(base, f"{at}/portal-link", "Portal link", csrf),
        # resend, replay a range and redrive the DLQ (issue 14) join this list once the message store
        # is merged: a form each, posting to an action of ACTIONS in routes.py.
    ]
    counts = fill(
        "<dl><dt>Queue</dt><dd id=queue-depth>{queue}</dd><dt>DLQ</dt><dd id=dlq-depth>{dlq}</dd>"
        "<dt>Mapping</dt><dd>{mapping}</dd><dt>Attempts (1 h)</dt><dd>{attempts}</dd>"
        "<dt>Success (1 h)</dt><dd>{rate}</dd><dt>p95 (1 h)</dt><dd>{p95}</dd></dl>",
        queue=_counts(state.get("queue")),
        dlq=_counts(state.get("dead_letter_queue")),
        mapping=state.get("mapping_state") or "—",
        attempts=hour.attempts,
        rate=_rate(hour),
        p95=_ms(hour.p95_ms),
    )
    more = (
        tag("a", "Older attempts", href=f"{base}{at}?{urlencode({'cursor': next_cursor})}")
        if next_cursor
        else ""
    )
    body = fill(
        "<h1>{pid} {badge}</h1>{done}<p>{actions}</p><section id=live><h2>Live</h2>{counts}"
        "<h2>Attempts</h2>{attempts}</section><p>{more} <span id=refreshed></span></p>"
        "<h2>Settings</h2>{settings}",
        pid=pid,
        badge=_badge(partner.get("status")),
        done=tag("p", DONE.get(done or "", ""), class_="notice", id="done") if done in DONE else "",
        actions=join(actions),
        counts=counts,
        attempts=attempts_table(records),
        more=more,
        settings=_settings(partner),
    )
    return page(pid, body, base, refresh=REFRESH_SECONDS, nav=_nav(base, csrf))


DONE = {
    "disable": "Disabled: nothing is delivered until enabled; messages are kept.",
    "enable": "Enabled: delivery resumes.",
    "test-event": "Test event published: its attempt appears below within seconds.",
}


def _counts(counts: Mapping[str, int] | None) -> str:
    if counts is None:
        return "— (no queue)"
    return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())


def secret_page(base: str, csrf: str, partner_id: str, secret: str, previous_expires_at: str) -> Safe:
    """The one page that shows a secret: the answer to a rotation (never stored, never shown again)."""
    body = fill(
        "<h1>New secret of {pid}</h1><p>Copy it now: it is shown this once.</p>"
        '<p class="secret" id="secret">{secret}</p>'
        "<p>The previous secret still signs until {until}.</p>{back}",
        pid=partner_id,
        secret=secret,
        until=previous_expires_at,
        back=tag("a", "Back to the partner", href=f"{base}/console/partners/{partner_id}"),
    )
    return page("Secret", body, base, nav=_nav(base, csrf))


def link_page(base: str, csrf: str, partner_id: str, url: str, expires_at: str) -> Safe:
    body = fill(
        "<h1>Portal link of {pid}</h1><p>Send it to the partner: it shows its deliveries and can send a "
        'test event, until {until}.</p><p><a id="portal-url" href="{url}">{url}</a></p>{back}',
        pid=partner_id,
        url=url,
        until=expires_at,
        back=tag("a", "Back to the partner", href=f"{base}/console/partners/{partner_id}"),
    )
    return page("Portal link", body, base, nav=_nav(base, csrf))


def portal_page(
    base: str, token: str, partner: Mapping[str, Any], records: list[AttemptRecord], done: str | None
) -> Safe:
    """A partner's own view: its endpoint, its attempt log, a test event. Nothing of another partner."""
    test = fill(
        '<form class="inline" method="post" action="{base}/portal/test-event" data-confirm="Send a test '
        'event to your endpoint?"><input type="hidden" name="token" value="{token}">'
        "<button>Send a test event</button></form>",
        base=base,
        token=token,
    )
    # Resending a failed webhook (issue 14's message store) goes here, next to the test event.
    body = fill(
        "<h1>Webhooks for {pid}</h1>{done}<p>Endpoint: <code>{url}</code></p><p>{test}</p>"
        "<section id=live><h2>Delivery attempts</h2>{attempts}</section><p><span id=refreshed></span></p>",
        pid=partner["partner_id"],
        done=tag("p", DONE["test-event"], class_="notice", id="done") if done == "test-event" else "",
        url=partner.get("url"),
        test=test,
        attempts=attempts_table(records),
    )
    return page("Portal", body, base, refresh=REFRESH_SECONDS)
