"""The console's rendering without a browser or AWS: escaping by default, the attempt log, pages that
hold no secret, the last-hour summary and where the API is mounted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hookrelay.errors import InvalidInput
from hookrelay.models import AttemptRecord, ErrorKind, Outcome
from hookrelay.partners.model import Partner
from hookrelay.provisioning.console.fleet import FleetPage, FleetQuery, FleetRow, sort_rows
from hookrelay.provisioning.console.fleet_html import fleet_page_html
from hookrelay.provisioning.console.html import Safe, fill, h, tag
from hookrelay.provisioning.console.pages import attempts_table, portal_page
from hookrelay.provisioning.console.routes import base_path
from hookrelay.provisioning.console.stats import HourStats, summarize

XSS = "<script>alert(1)</script>"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def attempt(
    n: int, outcome: Outcome = Outcome.DELIVERED, duration: int | None = 100, **more: object
) -> AttemptRecord:
    return AttemptRecord.model_validate(
        {"webhook_id": f"msg_{n}", "partner_id": "acme", "attempt": 1, "url": "https://acme.example/hook",
         "at": T0, "outcome": outcome, "duration_ms": duration, **more}
    )  # fmt: skip


def test_values_are_escaped_unless_marked_safe() -> None:
    # GIVEN a value with markup and quotes, and markup of ours
    # WHEN each is filled into a template and an attribute
    filled = fill("<p>{text}</p>{ours}", text=XSS, ours=Safe("<b>ok</b>"))
    attribute = tag("a", "x", href='" onmouseover="alert(1)')
    # THEN the value is text, ours stays markup, and a quote cannot leave the attribute
    assert filled == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><b>ok</b>"
    assert attribute == '<a href="&quot; onmouseover=&quot;alert(1)">x</a>'
    assert h(None) == ""


def test_the_attempt_log_shows_a_partners_answer_and_error_as_text() -> None:
    # GIVEN an attempt whose endpoint answered a script, with a script in its error text and topic
    record = attempt(1, Outcome.RETRY_SCHEDULED, response_excerpt=XSS, error=XSS, topic="a.b",
                     error_kind=ErrorKind.HTTP_STATUS, status_code=500)  # fmt: skip
    # WHEN the attempt log is rendered
    html = attempts_table([record])
    # THEN no script element exists in it; the text is there, escaped
    assert "<script" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2
    assert ">500<" in html


def test_a_long_excerpt_is_cut_to_300_characters() -> None:
    html = attempts_table([attempt(1, response_excerpt="x" * 1000)])
    assert "x" * 300 in html
    assert "x" * 301 not in html


def test_the_portal_page_escapes_the_partner_url_and_carries_no_operator_form() -> None:
    # GIVEN a partner whose URL carries markup
    partner = {"partner_id": "acme", "url": f"https://acme.example/?q={XSS}"}
    # WHEN its portal page is rendered
    html = portal_page("", "tok", partner, [attempt(1)], None)
    # THEN the URL shows as text; the only form is the test event; the script is the static one
    assert "<script>" not in html
    assert html.count("<form") == 1
    assert 'action="/portal/test-event"' in html
    assert '<script src="/console/static/console.js" defer></script>' in html


def test_summary_of_the_last_hour_is_the_delivered_share_and_nearest_rank_p95() -> None:
    # GIVEN 20 attempts: 19 delivered taking 10..190 ms, one failed taking 2000 ms, one without a time
    records = [attempt(n, duration=10 * n) for n in range(1, 20)]
    records.append(attempt(20, Outcome.RETRY_SCHEDULED, duration=2000))
    records.append(attempt(21, Outcome.DEAD_LETTERED, duration=None))
    # WHEN summarized
    stats = summarize(records)
    # THEN success is 19 of 21; p95 is the 19th of the 20 sorted durations (ceil(0.95 * 20) = 19)
    assert stats.attempts == 21
    assert stats.delivered == 19
    assert stats.success_rate == pytest.approx(19 / 21)
    assert stats.p95_ms == 190


def test_no_attempts_means_no_rate_and_no_p95() -> None:
    assert summarize([]) == HourStats(attempts=0, delivered=0, success_rate=None, p95_ms=None)


def row(pid: str, visible: int, rate: float | None) -> FleetRow:
    stats = HourStats(attempts=0 if rate is None else 10, delivered=0, success_rate=rate, p95_ms=None)
    partner = Partner(partner_id=pid, url="https://x.example/")
    return FleetRow(partner=partner, queue={"visible": visible}, dead_letter_queue=None, hour=stats)


def test_sorting_orders_the_page_by_the_column_with_ties_by_id() -> None:
    rows = [row("c", 5, 0.5), row("a", 5, None), row("b", 9, 1.0)]
    assert [r.partner.partner_id for r in sort_rows(rows, "queue", True)] == ["b", "a", "c"]
    assert [r.partner.partner_id for r in sort_rows(rows, "success", False)] == ["a", "c", "b"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "51"}, "limit must be a whole number from 1 to 50"),
        ({"limit": "-1"}, "limit must be a whole number from 1 to 50"),
        ({"status": "nope"}, "status must be one of"),
        ({"sort": "secret"}, "sort must be one of"),
        ({"q": "x" * 33}, "at most 32"),
    ],
)
def test_a_bad_fleet_query_says_what_is_wrong(query: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        FleetQuery.from_query(query)


def test_the_fleet_page_links_partners_and_keeps_the_filter_in_the_pager() -> None:
    # GIVEN a filtered page with a next page
    query = FleetQuery.from_query({"q": "ac", "status": "active", "limit": "10"})
    html = fleet_page_html("/api", "csrf", query, FleetPage(rows=[row("acme", 3, 1.0)], next_cursor="abc"))
    # THEN the partner links under the mount path, and "next" keeps the filter
    assert 'href="/api/console/partners/acme"' in html
    assert (
        'href="/api/console?limit=10&amp;status=active&amp;q=ac&amp;sort=id&amp;dir=asc&amp;cursor=abc"'
        in html
    )
    assert 'data-refresh="15"' in html


@pytest.mark.parametrize(
    ("context", "resource", "params", "base"),
    [
        ({"path": "/api/console"}, "/console", {}, "/api"),
        ({"path": "/api/console/partners/acme"}, "/console/partners/{id}", {"id": "acme"}, "/api"),
        ({"path": "/console"}, "/console", {}, ""),
        ({}, "/console", {}, ""),
    ],
)
def test_the_mount_path_is_the_request_path_without_the_route(
    context: dict[str, str], resource: str, params: dict[str, str], base: str
) -> None:
    assert base_path(context, resource, params) == base
