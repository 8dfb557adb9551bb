"""A webhook's page (its payload, every attempt, resend) and a replay's progress page (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hookrelay.models import AttemptRecord
from hookrelay.provisioning.console.html import Safe, fill, page, tag
from hookrelay.provisioning.console.pages import DONE, REFRESH_SECONDS, attempts_table, badge, form, nav


def webhook_page(
    base: str,
    csrf: str,
    partner_id: str,
    webhook_id: str,
    records: list[AttemptRecord],
    kept: Mapping[str, Any] | None,
    done: str | None = None,
) -> Safe:
    """``kept``: the ``get_webhook`` answer (payload, delivered, expiry) when the message store has the
    webhook; else only its attempts from the attempt log are shown, and it cannot be resent."""
    at = f"/console/partners/{partner_id}/webhooks/{webhook_id}"
    latest = records[0] if records else None
    if kept is not None:
        summary = fill(
            "<p>Partner {partner} · topic {topic} · created {created} · {state} · kept until {expires}</p>"
            "<p>{resend}</p><h2>Payload</h2>{payload}",
            partner=tag("a", partner_id, href=f"{base}/console/partners/{partner_id}"),
            topic=kept.get("topic"),
            created=kept.get("created_at"),
            state=badge("delivered") if kept.get("delivered") else badge("not delivered", "dead_lettered"),
            expires=kept.get("expires_at"),
            resend=form(
                base, f"{at}/resend", "Resend", csrf, f"Deliver webhook {webhook_id} again (same id)?"
            ),
            payload=tag("pre", json.dumps(kept.get("payload"), indent=2, sort_keys=True), class_="payload"),
        )
    else:
        summary = fill(
            "<p>Partner {partner} · topic {topic}</p><p class=notice>The message store does not keep this "
            "webhook (expired, or published before the store): its attempts only, no payload, no resend.</p>",
            partner=tag("a", partner_id, href=f"{base}/console/partners/{partner_id}"),
            topic=(latest.topic if latest else None) or "—",
        )
    body = fill(
        "<h1>Webhook {wid}</h1>{done}{summary}<section id=live><h2>Attempts ({count})</h2>{attempts}"
        "</section><p><span id=refreshed></span></p>",
        wid=webhook_id,
        done=tag("p", DONE[done], class_="notice", id="done") if done == "resend" else "",
        summary=summary,
        count=len(records),
        attempts=attempts_table(records),
    )
    return page(webhook_id, body, base, refresh=REFRESH_SECONDS, nav=nav(base, csrf))


def replay_page(base: str, csrf: str, state: Mapping[str, Any]) -> Safe:
    """A replay's progress (the ``replay_state`` answer): refreshed live until done."""
    pid = state["partner_id"]
    body = fill(
        "<h1>Replay {rid}</h1><p>Partner {partner}</p><section id=live><dl>"
        "<dt>State</dt><dd id=replay-state>{status}</dd><dt>Range</dt><dd>{since} to {until}</dd>"
        "<dt>Only failed</dt><dd>{only_failed}</dd><dt>Enqueued</dt><dd id=replay-enqueued>{enqueued} of "
        "{matched}</dd><dt>Started</dt><dd>{started}</dd><dt>Finished</dt><dd>{finished}</dd></dl></section>"
        "<p><span id=refreshed></span></p>",
        rid=state["replay_id"],
        partner=tag("a", pid, href=f"{base}/console/partners/{pid}"),
        status=badge(state.get("state"), "delivered" if state.get("state") == "done" else "retry_scheduled"),
        since=state.get("since"),
        until=state.get("until"),
        only_failed="yes" if state.get("only_failed") else "no",
        enqueued=state.get("enqueued"),
        matched=state.get("matched"),
        started=state.get("started_at"),
        finished=state.get("finished_at") or "—",
    )
    return page("Replay", body, base, refresh=REFRESH_SECONDS, nav=nav(base, csrf))


def replay_form(base: str, csrf: str, partner_id: str) -> Safe:
    """Replay a range (at most 7 days; times in UTC) of the kept webhooks, or only the failed ones."""
    return fill(
        '<form class="replay" method="post" action="{base}/console/partners/{pid}/replay" '
        'data-confirm="Replay the webhooks of {pid} in this range?"><input type="hidden" name="csrf" '
        'value="{csrf}">Replay from <input type="datetime-local" name="since" required> to '
        '<input type="datetime-local" name="until" required> (UTC) <label><input type="checkbox" '
        'name="only_failed" value="true" checked> only failed</label> <button>Replay</button></form>',
        base=base,
        pid=partner_id,
        csrf=csrf,
    )
