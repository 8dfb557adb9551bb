"""The console's and the portal's pages and their parts, rendered from data (pure: no AWS, no request).
The fleet page is :mod:`.fleet_html`, a partner's :mod:`.partner_html`.

Every value passes through :func:`hookrelay.provisioning.console.html.h` (via ``fill``/``tag``), so what
a partner controls (its URL, its response excerpts, error text) is shown as text. No page holds a secret,
except :func:`secret_page`, the one-time answer to a rotation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from hookrelay.models import AttemptRecord, Outcome
from hookrelay.provisioning.console.html import Safe, fill, h, join, page, tag
from hookrelay.provisioning.console.stats import HourStats

REFRESH_SECONDS = 15  # live refresh; the script refuses anything under 10 s
EXCERPT_CHARS = 300


def nav(base: str, csrf: str | None) -> Safe:
    if csrf is None:
        return Safe("")
    logout = fill(
        '<form class="inline" method="post" action="{base}/console/logout">'
        '<input type="hidden" name="csrf" value="{csrf}"><button>Log out</button></form>',
        base=base,
        csrf=csrf,
    )
    return join([tag("a", "Fleet", href=f"{base}/console"), logout], " ")


def badge(text: object, kind: object = None) -> Safe:
    return tag("span", text, class_=f"badge {kind or text}")


def depth(counts: Mapping[str, int] | None) -> str:
    if counts is None:
        return "—"
    return str(sum(counts.values()))


def rate(stats: HourStats) -> str:
    if stats.success_rate is None:
        return "—"
    return f"{stats.success_rate * 100:.1f} %" + ("*" if stats.capped else "")


def age(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min" if seconds < 7200 else f"{seconds // 3600} h"


def ms(value: int | None) -> str:
    return "—" if value is None else f"{value} ms"


def when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def form(base: str, action: str, label: str, csrf: str, confirm: str | None = None, **fields: str) -> Safe:
    hidden = join(tag("input", type="hidden", name=k, value=v) for k, v in {"csrf": csrf, **fields}.items())
    return fill(
        '<form class="inline" method="post" action="{action}"{confirm}>{hidden}'
        "<button>{label}</button></form>",
        action=f"{base}{action}",
        confirm=Safe(f' data-confirm="{h(confirm)}"') if confirm else Safe(""),
        hidden=hidden,
        label=label,
    )


DONE = {
    "disable": "Disabled: nothing is delivered until enabled; messages are kept.",
    "enable": "Enabled: delivery resumes.",
    "test-event": "Test event published: its attempt appears below within seconds.",
    "resend": "Sent again (same webhook id): its new attempt appears below within seconds.",
    "redrive": "Dead letters moved back to the queue (up to 1,000), each with a fresh attempt count.",
}


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


def attempts_table(
    records: list[AttemptRecord],
    link: Callable[[AttemptRecord], str] | None = None,
    row_action: Callable[[AttemptRecord], object] | None = None,
) -> Safe:
    """The attempt log: time, webhook, topic, attempt, outcome, status, duration, error, response;
    ``link``: where a webhook id leads (its detail page), if anywhere; ``row_action``: a last cell."""
    rows = join(
        fill(
            "<tr><td>{at}</td><td>{webhook}</td><td>{topic}</td><td class=num>{attempt}</td>"
            "<td>{outcome}</td><td class=num>{status}</td><td class=num>{duration}</td><td>{error}</td>"
            '<td class="excerpt">{excerpt}</td>{extra}</tr>',
            at=when(r.at),
            webhook=tag("a", r.webhook_id, href=link(r)) if link else r.webhook_id,
            topic=r.topic or "",
            attempt=r.attempt,
            outcome=badge(r.outcome.value),
            status=r.status_code if r.status_code is not None else "",
            duration=ms(r.duration_ms),
            error=" ".join(x for x in (r.error_kind or "", r.error or "") if x),
            excerpt=(r.response_excerpt or "")[:EXCERPT_CHARS],
            extra=tag("td", row_action(r)) if row_action else "",
        )
        for r in records
    ) or Safe('<tr><td colspan="9">No attempts yet.</td></tr>')
    return fill(
        '<table id="attempts"><thead><tr><th>Time (UTC)</th><th>Webhook</th><th>Topic</th><th>#</th>'
        "<th>Outcome</th><th>Status</th><th>Duration</th><th>Error</th><th>Response</th>{extra}</tr></thead>"
        "<tbody>{rows}</tbody></table>",
        rows=rows,
        extra=tag("th", "") if row_action else "",
    )


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
    return page("Secret", body, base, nav=nav(base, csrf))


def link_page(base: str, csrf: str, partner_id: str, url: str, expires_at: str) -> Safe:
    body = fill(
        "<h1>Portal link of {pid}</h1><p>Send it to the partner: it shows its deliveries and can send a "
        'test event, until {until}.</p><p><a id="portal-url" href="{url}">{url}</a></p>{back}',
        pid=partner_id,
        url=url,
        until=expires_at,
        back=tag("a", "Back to the partner", href=f"{base}/console/partners/{partner_id}"),
    )
    return page("Portal link", body, base, nav=nav(base, csrf))


def portal_page(
    base: str,
    token: str,
    partner: Mapping[str, Any],
    records: list[AttemptRecord],
    done: str | None,
    next_cursor: str | None = None,
) -> Safe:
    """A partner's own view: its endpoint, its attempt log, a test event. Nothing of another partner."""
    test = fill(
        '<form class="inline" method="post" action="{base}/portal/test-event" data-confirm="Send a test '
        'event to your endpoint?"><input type="hidden" name="token" value="{token}">'
        "<button>Send a test event</button></form>",
        base=base,
        token=token,
    )
    body = fill(
        "<h1>Webhooks for {pid}</h1>{done}<p>Endpoint: <code>{url}</code></p><p>{test}</p>"
        "<section id=live><h2>Delivery attempts</h2>{attempts}</section>"
        "<p>{more} <span id=refreshed></span></p>",
        pid=partner["partner_id"],
        more=tag(
            "a", "Older attempts", href=f"{base}/portal?{urlencode({'token': token, 'cursor': next_cursor})}"
        )
        if next_cursor
        else "",
        done=tag("p", DONE[done], class_="notice", id="done") if done in ("test-event", "resend") else "",
        url=partner.get("url"),
        test=test,
        attempts=attempts_table(records, row_action=lambda r: _portal_resend(base, token, r)),
    )
    return page("Portal", body, base, refresh=REFRESH_SECONDS)


def _portal_resend(base: str, token: str, record: AttemptRecord) -> Safe:
    """A dead-lettered webhook's resend button (the store keeps it; the answer says if it no longer is)."""
    if record.outcome is not Outcome.DEAD_LETTERED:
        return Safe("")
    return fill(
        '<form class="inline" method="post" action="{base}/portal/resend" data-confirm="Send webhook {wid} '
        'again?"><input type="hidden" name="token" value="{token}"><input type="hidden" name="webhook_id" '
        'value="{wid}"><button>Resend</button></form>',
        base=base,
        token=token,
        wid=record.webhook_id,
    )
