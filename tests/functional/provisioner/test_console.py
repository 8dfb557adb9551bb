"""The operator console and the partner portal through the provisioner app (chalice.test + moto):
login, CSRF, escaping, actions, the portal-link operation and a portal that shows one partner only."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from hookrelay import naming
from hookrelay.attempts.log import AttemptLog
from hookrelay.models import AttemptRecord, DeliveryState, Outcome, WebhookMessage
from hookrelay.partners.model import PartnerStatus, Pause
from hookrelay.provisioning import redrive as redrive_module
from hookrelay.provisioning.access import console_keys, forget_console_keys
from hookrelay.provisioning.context import Provisioner

from .conftest import STAGE, URL, aws

TOKEN = "operator-token-for-tests-0123456789"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
XSS = "<script>alert(1)</script>"


@pytest.fixture
def web(http: Any) -> Any:
    """The HTTP side of chalice.test's client."""
    return http.http


@pytest.fixture
def console(ctx: Provisioner) -> Provisioner:
    """The stage's console token in Secrets Manager, set to a known one (ensure_shared made it random)."""
    forget_console_keys()
    aws("secretsmanager").put_secret_value(SecretId=naming.console_secret(STAGE), SecretString=TOKEN)
    return ctx


def text(response: Any) -> str:
    return response.body.decode() if isinstance(response.body, bytes) else str(response.body)


def login(web: Any, token: str = TOKEN, **headers: str) -> Any:
    return web.post("/console/login", headers={**FORM, **headers}, body=urlencode({"token": token}))


def session_cookie(web: Any) -> str:
    answer = login(web)
    assert answer.status_code == 303, text(answer)
    return answer.headers["Set-Cookie"].split(";", 1)[0]


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def record(partner_id: str, n: int, excerpt: str = "ok", outcome: Outcome = Outcome.DELIVERED) -> None:
    AttemptLog(STAGE, clients=_clients()).record(
        AttemptRecord(
            webhook_id=f"msg_{partner_id}_{n}", partner_id=partner_id, attempt=1, url=URL,
            at=datetime.now(UTC) - timedelta(minutes=n), outcome=outcome, status_code=200 if
            outcome is Outcome.DELIVERED else 500, duration_ms=10 * (n + 1), response_excerpt=excerpt,
        )
    )  # fmt: skip


def _clients() -> Any:
    from hookrelay.aws.clients import Clients

    return Clients(overrides={"dynamodb": aws("dynamodb"), "sqs": aws("sqs")})


def test_the_console_asks_for_a_login_first(console: Provisioner, web: Any) -> None:
    # GIVEN no session cookie
    # WHEN the fleet is asked for
    answer = web.get("/console")
    # THEN the browser is sent to the login page, and a form post is refused outright
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/console/login"
    refused = web.post("/console/partners/acme/disable", headers=FORM, body="csrf=x")
    assert refused.status_code == 401
    assert "log in first" in text(refused)


def test_a_wrong_token_is_a_401_page_and_no_cookie(console: Provisioner, web: Any) -> None:
    # GIVEN the console token in Secrets Manager
    # WHEN someone logs in with another token
    answer = login(web, token="not-the-token-at-all-xxxxxxxx")
    # THEN the login page comes back with 401 and says so; no session is set
    assert answer.status_code == 401
    assert "That is not the operator token." in text(answer)
    assert "Set-Cookie" not in answer.headers


def test_the_session_cookie_is_httponly_strict_and_secure_over_https(console: Provisioner, web: Any) -> None:
    # WHEN the operator logs in over http, then over https (API Gateway says so in X-Forwarded-Proto)
    plain = login(web).headers["Set-Cookie"]
    secure = login(web, **{"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]
    # THEN both cookies are HttpOnly, SameSite=Strict and expire; only the https one is Secure
    for cookie in (plain, secure):
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert "Max-Age=28800" in cookie
    assert "Secure" not in plain
    assert cookie.endswith("; Secure")


def test_the_fleet_lists_partners_with_depths_and_security_headers(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN two partners, one with an attempt in the last hour
    make_partner("acme")
    make_partner("globex")
    record("acme", 1)
    cookie = session_cookie(web)
    # WHEN the operator opens the fleet
    answer = web.get("/console", headers={"Cookie": cookie})
    page = text(answer)
    # THEN both partners are listed with their queue depth and last-hour figures
    assert answer.status_code == 200
    assert 'href="/console/partners/acme"' in page
    assert 'href="/console/partners/globex"' in page
    assert "100.0 %" in page
    # AND the page is protected: no inline script, no framing, no sniffing
    headers = answer.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in page.replace('<script src="/console/static/console.js" defer></script>', "")


def test_the_fleet_filters_and_pages(console: Provisioner, web: Any, make_partner: Any) -> None:
    # GIVEN three partners
    for pid in ("alpha", "beta", "bravo"):
        make_partner(pid)
    cookie = session_cookie(web)
    # WHEN the operator filters by an id prefix, and pages one at a time
    filtered = text(web.get("/console?q=b", headers={"Cookie": cookie}))
    first = text(web.get("/console?limit=1", headers={"Cookie": cookie}))
    # THEN the filter keeps the b partners, and a page of one offers the next page
    assert "/console/partners/beta" in filtered
    assert "/console/partners/bravo" in filtered
    assert "/console/partners/alpha" not in filtered
    assert first.count('href="/console/partners/') == 1
    assert 'id="next-page"' in first


def test_a_bad_fleet_query_is_a_400_page(console: Provisioner, web: Any) -> None:
    cookie = session_cookie(web)
    # WHEN the page size is out of range
    answer = web.get("/console?limit=5000", headers={"Cookie": cookie})
    # THEN a 400 page says what is allowed
    assert answer.status_code == 400
    assert "limit must be a whole number from 1 to 50" in text(answer)


def test_a_fleet_page_reads_each_of_its_partners_only(
    console: Provisioner, web: Any, make_partner: Any, aws_calls: list[str]
) -> None:
    # GIVEN three partners and a logged-in operator
    for pid in ("p1", "p2", "p3"):
        make_partner(pid)
    cookie = session_cookie(web)
    aws_calls.clear()
    # WHEN a page of two is viewed
    assert web.get("/console?limit=2", headers={"Cookie": cookie}).status_code == 200
    # THEN one Scan and one GetMetricData for the page, and per partner on it 2 queue lookups, 2 depth
    # reads and 1 Query: nothing for the partner on no page
    assert aws_calls.count("dynamodb:Scan") == 1
    assert aws_calls.count("cloudwatch:GetMetricData") == 1
    assert aws_calls.count("sqs:GetQueueAttributes") == 4
    assert aws_calls.count("dynamodb:Query") == 2
    assert len(aws_calls) <= 2 + 2 * 5 + 1  # + the console secret when its cache is cold


def test_the_fleet_shows_the_oldest_message_age_cloudwatch_reports(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN a partner whose queue CloudWatch reports a 5-minute-old message for, and one with no figure
    make_partner("acme")
    make_partner("globex")
    aws("cloudwatch").put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[{
            "MetricName": "ApproximateAgeOfOldestMessage", "Value": 300, "Unit": "Seconds",
            "Dimensions": [{"Name": "QueueName", "Value": naming.partner_queue(STAGE, "acme")}],
            "Timestamp": datetime.now(UTC) - timedelta(minutes=2),
        }],
    )  # fmt: skip
    # WHEN the fleet is viewed, sorted by that age, oldest first
    page = text(web.get("/console?sort=oldest&dir=desc", headers={"Cookie": session_cookie(web)}))
    # THEN acme shows 5 min and comes first; globex shows none
    rows = re.findall(r'<tr><td><a href="/console/partners/([a-z]+)">.*?</tr>', page)
    assert rows == ["acme", "globex"]
    assert "<td class=num>5 min</td>" in page
    assert "<td class=num>—</td>" in page


def test_partner_text_is_escaped_everywhere(console: Provisioner, web: Any, make_partner: Any) -> None:
    # GIVEN a partner whose endpoint answered a script
    make_partner("acme")
    record("acme", 1, excerpt=XSS, outcome=Outcome.RETRY_SCHEDULED)
    cookie = session_cookie(web)
    # WHEN the operator opens its page
    page = text(web.get("/console/partners/acme", headers={"Cookie": cookie}))
    # THEN the answer shows as text, never as markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert XSS not in page


def test_an_action_needs_the_sessions_csrf_token(console: Provisioner, web: Any, make_partner: Any) -> None:
    # GIVEN an active partner and a logged-in operator
    make_partner("acme")
    cookie = session_cookie(web)
    page = text(web.get("/console/partners/acme", headers={"Cookie": cookie}))
    # WHEN disable is posted without the CSRF token (a forged cross-site form), then with it
    forged = web.post("/console/partners/acme/disable", headers={**FORM, "Cookie": cookie}, body="csrf=nope")
    assert console.partners.get("acme").status.value == "active"
    done = web.post(
        "/console/partners/acme/disable", headers={**FORM, "Cookie": cookie}, body=f"csrf={csrf_of(page)}"
    )
    # THEN the forged one is a 403 that changed nothing; the real one disables and goes back to the page
    assert forged.status_code == 403
    assert done.status_code == 303
    assert done.headers["Location"] == "/console/partners/acme?done=disable"
    assert console.partners.get("acme").status.value == "disabled"


def test_the_csrf_token_of_another_session_does_not_pass(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN two sessions
    make_partner("acme")
    mine, theirs = session_cookie(web), session_cookie(web)
    their_csrf = csrf_of(text(web.get("/console/partners/acme", headers={"Cookie": theirs})))
    # WHEN my session posts their CSRF token
    answer = web.post(
        "/console/partners/acme/disable", headers={**FORM, "Cookie": mine}, body=f"csrf={their_csrf}"
    )
    # THEN it is refused
    assert answer.status_code == 403


def test_rotation_shows_the_new_secret_once(console: Provisioner, web: Any, make_partner: Any) -> None:
    # GIVEN a partner and a logged-in operator on its page
    make_partner("acme")
    cookie = session_cookie(web)
    csrf = csrf_of(text(web.get("/console/partners/acme", headers={"Cookie": cookie})))
    # WHEN the secret is rotated
    answer = web.post(
        "/console/partners/acme/rotate-secret", headers={**FORM, "Cookie": cookie}, body=f"csrf={csrf}"
    )
    secret = re.search(r'id="secret">([^<]+)<', text(answer))
    # THEN the answer shows the new secret; the partner page never does
    assert answer.status_code == 200
    assert secret is not None
    assert answer.headers["Cache-Control"] == "no-store"
    assert secret.group(1) not in text(web.get("/console/partners/acme", headers={"Cookie": cookie}))


def test_an_unknown_partner_is_a_404_page(console: Provisioner, web: Any) -> None:
    cookie = session_cookie(web)
    answer = web.get("/console/partners/nobody", headers={"Cookie": cookie})
    assert answer.status_code == 404
    assert "partner &#x27;nobody&#x27; does not exist" in text(answer)


def test_without_the_console_secret_login_is_a_503_that_names_the_secret_in_the_log_only(
    ctx: Provisioner, web: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a stage whose console token is gone (deleted by hand after the deploy made it)
    aws("secretsmanager").delete_secret(
        SecretId=naming.console_secret(STAGE), ForceDeleteWithoutRecovery=True
    )
    forget_console_keys()
    # WHEN someone (not logged in) tries to log in
    with caplog.at_level(logging.ERROR):
        answer = login(web)
    # THEN a 503 page that names nothing internal; the log names the secret to create for the operator
    assert answer.status_code == 503
    assert "the service is unavailable" in text(answer)
    assert naming.console_secret(STAGE) not in text(answer)
    assert any(naming.console_secret(STAGE) in str(getattr(r, "error", "")) for r in caplog.records)


def portal_url(web: Any, partner_id: str, **body: Any) -> str:
    answer = web.post(
        f"/partners/{partner_id}/portal-link",
        headers={"Content-Type": "application/json"},
        body=json.dumps(body),
    )
    assert answer.status_code == 200, text(answer)
    return str(answer.json_body["url"])


def test_a_portal_link_shows_its_partner_and_nobody_else(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN two partners with attempts
    make_partner("acme")
    make_partner("globex")
    record("acme", 1, excerpt="acme-answer")
    record("globex", 1, excerpt="globex-answer")
    # WHEN acme's portal link is opened, also with another partner named in the query
    url = portal_url(web, "acme")
    page = text(web.get(url))
    smuggled = text(web.get(f"{url}&partner_id=globex&id=globex"))
    # THEN it shows acme's deliveries only
    assert url.startswith("/portal?token=")
    for shown in (page, smuggled):
        assert "acme-answer" in shown
        assert "globex" not in shown


def test_a_tampered_portal_token_is_refused(console: Provisioner, web: Any, make_partner: Any) -> None:
    # GIVEN acme's link, and a token claiming globex made from it (same signature)
    make_partner("acme")
    make_partner("globex")
    token = portal_url(web, "acme").split("token=", 1)[1]
    keys = console_keys(STAGE, console.clients)
    forged_claims = keys.sign("portal", {"p": "globex", "e": 4102444800}).split(".")[0]
    forged = f"{forged_claims}.{token.split('.')[1]}"
    session = keys.session(datetime.now(UTC), 1)
    # WHEN the forged token, a session cookie's value and no token are used as portal tokens
    answers = [web.get(f"/portal?token={t}") for t in (forged, session, "")]
    # THEN each is a 401 page
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert "invalid or has expired" in text(answers[0])


def test_an_expired_portal_link_is_refused(console: Provisioner, web: Any, make_partner: Any) -> None:
    # GIVEN a link valid for a minute
    make_partner("acme")
    url = portal_url(web, "acme", expires_in_seconds=60)
    # WHEN it is opened two minutes later
    console.clock = lambda: datetime.now(UTC) + timedelta(minutes=2)
    answer = web.get(url)
    # THEN it is a 401 page asking for a new link
    assert answer.status_code == 401
    assert "expired" in text(answer)


def test_the_portal_sends_a_test_event_to_its_own_partner(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN acme's portal link
    make_partner("acme")
    make_partner("globex")
    token = portal_url(web, "acme").split("token=", 1)[1]
    # WHEN the portal's test button is pressed
    answer = web.post("/portal/test-event", headers=FORM, body=f"token={token}")
    # THEN a test event is on acme's queue, none on globex's
    assert answer.status_code == 303
    depth = {
        pid: aws("sqs").get_queue_attributes(
            QueueUrl=aws("sqs").get_queue_url(QueueName=naming.partner_queue(STAGE, pid))["QueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]["ApproximateNumberOfMessages"]
        for pid in ("acme", "globex")
    }
    assert depth == {"acme": "1", "globex": "0"}


def test_portal_link_for_an_unknown_partner_is_404(console: Provisioner, web: Any) -> None:
    answer = web.post("/partners/nobody/portal-link", headers={"Content-Type": "application/json"}, body="{}")
    assert answer.status_code == 404


def test_static_files_are_served_and_unknown_ones_are_404(console: Provisioner, web: Any) -> None:
    script = web.get("/console/static/console.js")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert web.get("/console/static/nope.js").status_code == 404


def test_a_forged_or_expired_session_cookie_is_sent_to_the_login(console: Provisioner, web: Any) -> None:
    # GIVEN a session cookie with its signature altered, and one that expired
    name, value = session_cookie(web).split("=", 1)
    forged = f"{name}={value[:-2]}{'AA' if not value.endswith('AA') else 'BB'}"
    expired = (
        f"{name}={console_keys(STAGE, console.clients).session(datetime.now(UTC) - timedelta(hours=9), 8)}"
    )
    # WHEN each asks for the fleet
    # THEN each is sent to the login page
    for cookie in (forged, expired):
        answer = web.get("/console", headers={"Cookie": cookie})
        assert answer.status_code == 303
        assert answer.headers["Location"] == "/console/login"


def test_logout_needs_the_csrf_token_and_clears_the_cookie(console: Provisioner, web: Any) -> None:
    # GIVEN a logged-in operator on the fleet page
    cookie = session_cookie(web)
    csrf = csrf_of(text(web.get("/console", headers={"Cookie": cookie})))
    # WHEN logout is posted without, then with, the CSRF token
    forged = web.post("/console/logout", headers={**FORM, "Cookie": cookie}, body="")
    done = web.post("/console/logout", headers={**FORM, "Cookie": cookie}, body=f"csrf={csrf}")
    # THEN the first is refused; the second expires the cookie and goes to the login
    assert forged.status_code == 403
    assert done.status_code == 303
    assert done.headers["Location"] == "/console/login"
    assert done.headers["Set-Cookie"].startswith("hookrelay_console=; Max-Age=0;")


def test_a_malformed_partner_id_or_unknown_action_is_a_400_page(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    make_partner("acme")
    cookie = session_cookie(web)
    csrf = csrf_of(text(web.get("/console", headers={"Cookie": cookie})))
    bad_id = web.get("/console/partners/NOT_AN_ID", headers={"Cookie": cookie})
    unknown = web.post(
        "/console/partners/acme/delete", headers={**FORM, "Cookie": cookie}, body=f"csrf={csrf}"
    )
    assert bad_id.status_code == 400
    assert unknown.status_code == 400
    assert "unknown action &#x27;delete&#x27;" in text(unknown)
    assert console.partners.find("acme") is not None


def test_a_webhooks_page_shows_its_attempts_only(console: Provisioner, web: Any, make_partner: Any) -> None:
    # GIVEN two webhooks of acme, the first with two attempts
    make_partner("acme")
    record("acme", 1, excerpt="first-try")
    record("acme", 3, excerpt="second-webhook")
    AttemptLog(STAGE, clients=_clients()).record(
        AttemptRecord(
            webhook_id="msg_acme_1", partner_id="acme", attempt=2, url=URL, at=datetime.now(UTC),
            outcome=Outcome.DELIVERED, status_code=200, duration_ms=5, response_excerpt="second-try",
        )
    )  # fmt: skip
    cookie = session_cookie(web)
    # WHEN the operator follows the first webhook's link from the partner page
    partner_page = text(web.get("/console/partners/acme", headers={"Cookie": cookie}))
    assert 'href="/console/partners/acme/webhooks/msg_acme_1"' in partner_page
    page = text(web.get("/console/partners/acme/webhooks/msg_acme_1", headers={"Cookie": cookie}))
    # THEN it lists that webhook's two attempts, newest first, and nothing of the other
    assert page.index("second-try") < page.index("first-try")
    assert "second-webhook" not in page
    assert "Attempts (2)" in page
    assert "does not keep this webhook" in page  # recorded attempts only: never published here


def test_a_bad_webhook_id_is_a_400_page(console: Provisioner, web: Any, make_partner: Any) -> None:
    make_partner("acme")
    answer = web.get("/console/partners/acme/webhooks/bad%20id", headers={"Cookie": session_cookie(web)})
    assert answer.status_code == 400
    assert "must be 1-128 of" in text(answer)


def test_the_portal_pages_through_its_own_attempts_only(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN acme with 51 attempts (a page is 50) and globex with 51
    for pid in ("acme", "globex"):
        make_partner(pid)
        for n in range(51):
            record(pid, n, excerpt=f"{pid}-{n}")
    url = portal_url(web, "acme")
    # WHEN acme follows "Older attempts"
    first = text(web.get(url))
    older = re.search(r'<a href="(/portal\?token=[^"]+&amp;cursor=[^"]+)">Older attempts</a>', first)
    assert older is not None
    second = text(web.get(older.group(1).replace("&amp;", "&")))
    # THEN the oldest attempt is on the second page; and globex's cursor with acme's token is refused
    assert "acme-50" not in first
    assert "acme-50" in second
    globex_first = text(web.get(portal_url(web, "globex")))
    globex_cursor = re.search(r"cursor=([^\"]+)\">Older", globex_first)
    assert globex_cursor is not None
    smuggled = web.get(f"{url}&cursor={globex_cursor.group(1)}")
    assert smuggled.status_code == 400
    assert "globex-" not in text(smuggled)


def test_logins_are_logged_without_any_token(
    console: Provisioner, web: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # WHEN a wrong token and the right one are offered
    caplog.set_level("INFO")
    login(web, token="wrong-token-offered-1234567890")
    cookie = session_cookie(web)
    # THEN both are logged, and no token (offered, operator or session) appears in the log
    assert "console login refused" in caplog.text
    assert "console login" in caplog.text
    for secret in ("wrong-token-offered-1234567890", TOKEN, cookie.split("=", 1)[1]):
        assert secret not in caplog.text


def kept_webhook(ctx: Provisioner, webhook_id: str, outcome: Outcome, excerpt: str = "nope") -> None:
    """A webhook the message store keeps, with one recorded attempt of ``outcome``."""
    ctx.messages.keep(
        [WebhookMessage(id=webhook_id, partner_id="acme", topic="invoice.paid", payload={"amount": XSS})]
    )
    AttemptLog(STAGE, clients=ctx.clients).record(
        AttemptRecord(
            webhook_id=webhook_id, partner_id="acme", attempt=1, url=URL, at=datetime.now(UTC),
            outcome=outcome, status_code=500, duration_ms=7, response_excerpt=excerpt,
        )
    )  # fmt: skip


def queued(partner_id: str = "acme") -> list[str]:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=naming.partner_queue(STAGE, partner_id))["QueueUrl"]
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["id"] for m in found]


def test_a_kept_webhook_shows_its_payload_escaped_and_resends_with_csrf(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN a kept webhook whose only attempt dead-lettered, its payload holding a script
    make_partner("acme")
    kept_webhook(console, "msg_dead", Outcome.DEAD_LETTERED)
    cookie = session_cookie(web)
    # WHEN the operator opens it
    page = text(web.get("/console/partners/acme/webhooks/msg_dead", headers={"Cookie": cookie}))
    # THEN the payload is shown as text, with a resend button
    assert "&quot;amount&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in page
    assert 'action="/console/partners/acme/webhooks/msg_dead/resend"' in page
    # AND resend without the CSRF token is refused; with it the same webhook id is queued again
    url = "/console/partners/acme/webhooks/msg_dead/resend"
    forged = web.post(url, headers={**FORM, "Cookie": cookie}, body="csrf=x")
    assert forged.status_code == 403
    assert queued() == []
    done = web.post(url, headers={**FORM, "Cookie": cookie}, body=f"csrf={csrf_of(page)}")
    assert done.status_code == 303
    assert done.headers["Location"] == "/console/partners/acme/webhooks/msg_dead?done=resend"
    assert queued() == ["msg_dead"]


def test_a_replay_from_the_console_starts_and_shows_its_progress(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN a kept, never-delivered webhook of acme
    make_partner("acme")
    kept_webhook(console, "msg_dead", Outcome.DEAD_LETTERED)
    cookie = session_cookie(web)
    csrf = csrf_of(text(web.get("/console/partners/acme", headers={"Cookie": cookie})))
    now = datetime.now(UTC)
    form = {
        "csrf": csrf,
        "since": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "until": (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
        "only_failed": "true",
    }
    # WHEN the operator replays the last hour's failed webhooks
    answer = web.post(
        "/console/partners/acme/replay", headers={**FORM, "Cookie": cookie}, body=urlencode(form)
    )
    # THEN the browser goes to the replay's page, which shows it matched the one webhook
    assert answer.status_code == 303, text(answer)
    location = answer.headers["Location"]
    assert location.startswith("/console/partners/acme/replays/")
    page = text(web.get(location, headers={"Cookie": cookie}))
    assert re.search(r"id=replay-enqueued>\d of 1<", page)


def test_a_bad_replay_range_is_a_400_page(console: Provisioner, web: Any, make_partner: Any) -> None:
    make_partner("acme")
    cookie = session_cookie(web)
    csrf = csrf_of(text(web.get("/console/partners/acme", headers={"Cookie": cookie})))
    form = urlencode({"csrf": csrf, "since": "2026-12-01T10:00", "until": "2026-12-01T09:00"})
    answer = web.post("/console/partners/acme/replay", headers={**FORM, "Cookie": cookie}, body=form)
    assert answer.status_code == 400
    assert "until must be after since" in text(answer)


def test_a_paused_partner_shows_why_and_offers_enable(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN a partner its health paused
    make_partner("acme")
    partner = console.partners.get("acme")
    pause = Pause(reason="failing", paused_at=datetime.now(UTC), consecutive_failures=12, last_error=XSS)
    console.partners.put(partner.touched(status=PartnerStatus.PAUSED, pause=pause))
    cookie = session_cookie(web)
    # WHEN the operator looks at the fleet and at the partner
    fleet = text(web.get("/console?status=paused", headers={"Cookie": cookie}))
    page = text(web.get("/console/partners/acme", headers={"Cookie": cookie}))
    # THEN the fleet badge says paused and why; the page says so (error text escaped) and offers Enable
    assert "paused: failing" in fleet
    assert "after 12 failures" in page
    assert "&lt;script&gt;" in page
    assert 'action="/console/partners/acme/enable"' in page
    assert 'action="/console/partners/acme/disable"' not in page


def test_the_portal_resends_a_dead_lettered_webhook_but_not_a_delivered_one(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN acme's kept webhooks: one dead-lettered, one delivered
    make_partner("acme")
    kept_webhook(console, "msg_dead", Outcome.DEAD_LETTERED)
    kept_webhook(console, "msg_done", Outcome.DELIVERED)
    url = portal_url(web, "acme")
    token = url.split("token=", 1)[1]
    page = text(web.get(url))
    # THEN the portal offers a resend for the dead-lettered one only
    assert 'name="webhook_id" value="msg_dead"' in page
    assert 'name="webhook_id" value="msg_done"' not in page
    # WHEN the partner resends it, and tries the delivered one
    done = web.post(
        "/portal/resend", headers=FORM, body=urlencode({"token": token, "webhook_id": "msg_dead"})
    )
    refused = web.post(
        "/portal/resend", headers=FORM, body=urlencode({"token": token, "webhook_id": "msg_done"})
    )
    # THEN the first is queued again, the second is a 409 page
    assert done.status_code == 303
    assert refused.status_code == 409
    assert queued() == ["msg_dead"]


def test_a_portal_token_cannot_resend_another_partners_webhook(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN acme's dead-lettered webhook, and globex's portal link
    make_partner("acme")
    make_partner("globex")
    kept_webhook(console, "msg_dead", Outcome.DEAD_LETTERED)
    token = portal_url(web, "globex").split("token=", 1)[1]
    # WHEN globex's link asks to resend acme's webhook id
    answer = web.post(
        "/portal/resend", headers=FORM, body=urlencode({"token": token, "webhook_id": "msg_dead"})
    )
    # THEN it is not found (globex has no such webhook) and nothing is queued for anyone
    assert answer.status_code == 404
    assert queued("acme") == []
    assert queued("globex") == []


def dead_letter(body: str, partner_id: str = "acme") -> None:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=naming.partner_dead_letter_queue(STAGE, partner_id))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=body)


def test_redrive_moves_dead_letters_back_with_a_fresh_attempt_count(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    # GIVEN acme's DLQ holding a webhook that used its 4 attempts, and a body that is no webhook
    make_partner("acme")
    spent = WebhookMessage(id="msg_spent", partner_id="acme", topic="t", payload={"n": 1})
    dead_letter(spent.with_delivery(DeliveryState(attempt=4)).to_sqs_body())
    dead_letter("not a webhook")
    # WHEN the redrive operation runs
    answer = web.post("/partners/acme/redrive", headers={"Content-Type": "application/json"}, body="{}")
    # THEN the webhook is back on the queue, same id, attempt count 0; the other stays in the DLQ
    assert answer.status_code == 200, text(answer)
    assert answer.json_body["moved"] == 1
    assert answer.json_body["unreadable"] == 1
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=naming.partner_queue(STAGE, "acme"))["QueueUrl"]
    body = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert body["id"] == "msg_spent"
    assert body.get("delivery", {}).get("attempt", 0) == 0
    dlq = sqs.get_queue_url(QueueName=naming.partner_dead_letter_queue(STAGE, "acme"))["QueueUrl"]
    left = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert left["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_redrive_moves_at_most_max_messages(console: Provisioner, web: Any, make_partner: Any) -> None:
    make_partner("acme")
    for n in range(12):
        dead_letter(WebhookMessage(id=f"msg_{n}", partner_id="acme", topic="t", payload={}).to_sqs_body())
    answer = web.post(
        "/partners/acme/redrive", headers={"Content-Type": "application/json"}, body='{"max_messages": 11}'
    )
    assert answer.json_body["moved"] == 11
    assert answer.json_body["left"] == 1


def test_redrive_counts_only_the_letters_it_deleted_from_the_dlq(
    console: Provisioner, web: Any, make_partner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two dead letters, and a DLQ whose delete refuses the first one
    make_partner("acme")
    for n in range(2):
        dead_letter(WebhookMessage(id=f"msg_{n}", partner_id="acme", topic="t", payload={}).to_sqs_body())
    monkeypatch.setattr(redrive_module.queues, "delete_batch", lambda *_, **__: [0])
    # WHEN the redrive runs
    answer = web.post("/partners/acme/redrive", headers={"Content-Type": "application/json"}, body="{}")
    # THEN both were sent back, but only the deleted one counts as moved (the other will reappear)
    assert answer.status_code == 200, text(answer)
    assert answer.json_body["moved"] == 1


def test_redrive_from_the_console_needs_the_csrf_token(
    console: Provisioner, web: Any, make_partner: Any
) -> None:
    make_partner("acme")
    dead_letter(WebhookMessage(id="msg_1", partner_id="acme", topic="t", payload={}).to_sqs_body())
    cookie = session_cookie(web)
    csrf = csrf_of(text(web.get("/console/partners/acme", headers={"Cookie": cookie})))
    forged = web.post("/console/partners/acme/redrive", headers={**FORM, "Cookie": cookie}, body="csrf=x")
    assert forged.status_code == 403
    assert queued() == []
    done = web.post("/console/partners/acme/redrive", headers={**FORM, "Cookie": cookie}, body=f"csrf={csrf}")
    assert done.status_code == 303
    assert done.headers["Location"] == "/console/partners/acme?done=redrive"
    assert queued() == ["msg_1"]
