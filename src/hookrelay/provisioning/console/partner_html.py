"""A partner's page: live counts, the attempt log, actions (each a confirmed form) and settings (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from hookrelay.models import AttemptRecord
from hookrelay.provisioning.console.html import Safe, fill, join, page, tag
from hookrelay.provisioning.console.pages import (
    DONE,
    REFRESH_SECONDS,
    attempts_table,
    badge,
    form,
    ms,
    nav,
    rate,
)
from hookrelay.provisioning.console.stats import HourStats
from hookrelay.provisioning.console.webhook_html import replay_form

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
    enabled = partner.get("status") not in ("disabled", "paused")  # enable resumes a paused partner
    actions = [
        form(base, f"{at}/disable", "Disable", csrf, f"Stop delivering to {pid}? Messages are kept.")
        if enabled
        else form(base, f"{at}/enable", "Enable", csrf, f"Resume delivering to {pid}?"),
        form(
            base,
            f"{at}/rotate-secret",
            "Rotate secret",
            csrf,
            f"Rotate the signing secret of {pid}? The new one is shown once; the old one signs for a "
            "grace period.",
        ),
        form(base, f"{at}/test-event", "Send a test event", csrf, f"Send a test event to {pid}?"),
        form(base, f"{at}/portal-link", "Portal link", csrf),
        form(
            base,
            f"{at}/redrive",
            "Redrive DLQ",
            csrf,
            f"Move up to 1,000 dead letters of {pid} back to its queue, each with a fresh attempt count?",
        ),
        # A webhook's resend is on its own page.
    ]
    counts = fill(
        "<dl><dt>Queue</dt><dd id=queue-depth>{queue}</dd><dt>DLQ</dt><dd id=dlq-depth>{dlq}</dd>"
        "<dt>Mapping</dt><dd>{mapping}</dd><dt>Attempts (1 h)</dt><dd>{attempts}</dd>"
        "<dt>Success (1 h)</dt><dd>{rate}</dd><dt>p95 (1 h)</dt><dd>{p95}</dd></dl>",
        queue=_counts(state.get("queue")),
        dlq=_counts(state.get("dead_letter_queue")),
        mapping=state.get("mapping_state") or "—",
        attempts=hour.attempts,
        rate=rate(hour),
        p95=ms(hour.p95_ms),
    )
    more = (
        tag("a", "Older attempts", href=f"{base}{at}?{urlencode({'cursor': next_cursor})}")
        if next_cursor
        else ""
    )
    body = fill(
        "<h1>{pid} {badge}</h1>{done}{paused}<p>{actions}</p>{replay}<section id=live><h2>Live</h2>{counts}"
        "<h2>Attempts</h2>{attempts}</section><p>{more} <span id=refreshed></span></p>"
        "<h2>Settings</h2>{settings}",
        pid=pid,
        badge=badge(partner.get("status")),
        paused=_paused(partner.get("pause")) if partner.get("status") == "paused" else "",
        replay=replay_form(base, csrf, pid),
        done=tag("p", DONE.get(done or "", ""), class_="notice", id="done") if done in DONE else "",
        actions=join(actions),
        counts=counts,
        attempts=attempts_table(records, lambda r: f"{base}{at}/webhooks/{quote(r.webhook_id, safe='')}"),
        more=more,
        settings=_settings(partner),
    )
    return page(pid, body, base, refresh=REFRESH_SECONDS, nav=nav(base, csrf))


def _paused(pause: Mapping[str, Any] | None) -> Safe:
    if not pause:
        return Safe("")
    return tag(
        "p",
        f"Paused by its health ({pause.get('reason')}) at {pause.get('paused_at')} after "
        f"{pause.get('consecutive_failures')} failures; last error: {pause.get('last_error') or '—'}. "
        "Enable resumes it.",
        class_="error",
        id="paused",
    )


def _counts(counts: Mapping[str, int] | None) -> str:
    if counts is None:
        return "— (no queue)"
    return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
