"""The console and the portal in a real browser, on `make run`'s stack: an operator logs in, sees the
fleet and a partner's deliveries, disables and enables it (confirming), sees a partner's script answer
as text; a partner's portal link shows its own deliveries only and sends a test event.

``HOOKRELAY_CONSOLE_SCREENSHOTS=<dir>`` also saves the screenshots docs/console.md shows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium.common.exceptions import NoAlertPresentException

from hookrelay_local.partner_server import PartnerServer, Reply
from hookrelay_local.stack import LocalStack, StackOptions

pytestmark = pytest.mark.e2e
XSS = "<script>alert(1)</script>"
SCREENSHOTS = os.environ.get("HOOKRELAY_CONSOLE_SCREENSHOTS")


@pytest.fixture(autouse=True)
def _no_real_aws() -> None:
    """Overrides the suite-wide fixture: the stack sets (and restores) its own AWS environment."""


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Fleet:
    """The stack, two partners (one healthy, one answering a script with 500) and their attempts."""

    def __init__(self, stack: LocalStack, good: PartnerServer, evil: PartnerServer) -> None:
        self.stack, self.api = stack, stack.api_url
        for pid, server in (("acme", good), ("evil", evil)):
            body = {
                "partner_id": pid,
                "url": server.url,
                "retry_policy": {"schedule_seconds": [30], "jitter": 0},
            }
            answer = requests.post(f"{self.api}/partners", json=body, timeout=60)
            assert answer.status_code == 201, answer.text
        for pid in ("acme", "acme", "evil"):
            self.publish(pid)
        for pid, attempts in (("acme", 2), ("evil", 1)):
            wait_for(lambda p=pid, n=attempts: len(self.deliveries(p)) >= n, 60, f"{pid}'s first attempts")

    def publish(self, partner_id: str) -> str:
        answer = requests.post(
            f"{self.api}/partners/{partner_id}/events",
            json={"topic": "order.paid", "payload": {"n": 1}},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["webhook_id"])

    def deliveries(self, partner_id: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.api}/partners/{partner_id}/deliveries", timeout=30)
        return list(answer.json()["items"])

    def status(self, partner_id: str) -> str:
        return str(requests.get(f"{self.api}/partners/{partner_id}", timeout=30).json()["partner"]["status"])


@pytest.fixture(scope="module")
def fleet(browser: Any) -> Iterator[Fleet]:
    evil_answer = Reply(status=500, body=XSS.encode(), headers={"Content-Type": "text/html"})
    options = StackOptions(aws_port=0, api_port=0, receiver_port=0, stage="ui", poll_wait_seconds=1)
    with (
        LocalStack(options) as stack,
        PartnerServer(lambda _: Reply()) as good,
        PartnerServer(lambda _: evil_answer) as evil,
    ):
        yield Fleet(stack, good, evil)


def shot(browser: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SCREENSHOTS) / name))


def by(css: str) -> tuple[str, str]:
    return ("css selector", css)


def login(browser: Any, fleet: Fleet) -> None:
    browser.get(fleet.stack.console_url)
    assert browser.current_url.endswith("/console/login")
    browser.find_element(*by("input[name=token]")).send_keys(fleet.stack.console_token())
    browser.find_element(*by("form button")).click()
    wait_for(lambda: browser.current_url.endswith("/console"), 20, "the fleet after login")


def test_the_operator_logs_in_and_sees_the_fleet_and_a_partners_deliveries(
    browser: Any, fleet: Fleet
) -> None:
    # GIVEN two partners with attempts
    # WHEN the operator logs in with the stage's console token
    login(browser, fleet)
    # THEN the fleet lists both partners, and a click opens acme's attempt log
    links = [a.text for a in browser.find_elements(*by("#fleet tbody td:first-child a"))]
    assert links == ["acme", "evil"]
    shot(browser, "console-fleet.png")
    browser.find_element(*by('#fleet a[href$="/console/partners/acme"]')).click()
    rows = wait_for(lambda: browser.find_elements(*by("#attempts tbody tr")), 20, "the attempt log")
    assert len(rows) == len(fleet.deliveries("acme")) >= 2
    assert "delivered" in rows[0].text


def test_the_page_refreshes_itself_without_a_reload(browser: Any, fleet: Fleet) -> None:
    # GIVEN acme's page open, marked so a reload would show
    browser.get(f"{fleet.stack.console_url}/partners/acme")
    before = len(browser.find_elements(*by("#attempts tbody tr")))
    browser.execute_script("window.notReloaded = true;")
    # WHEN another webhook is delivered
    fleet.publish("acme")
    # THEN its attempt appears within a refresh (15 s), in the same page
    wait_for(lambda: len(browser.find_elements(*by("#attempts tbody tr"))) > before, 60, "a refreshed log")
    assert browser.execute_script("return window.notReloaded === true;")


def test_a_partners_script_answer_shows_as_text(browser: Any, fleet: Fleet) -> None:
    # GIVEN evil answered its webhook with a script
    # WHEN the operator opens evil's page
    browser.get(f"{fleet.stack.console_url}/partners/evil")
    excerpt = browser.find_element(*by("#attempts tbody td.excerpt"))
    # THEN the script is shown as its text and never ran (no alert is open)
    assert excerpt.text == XSS
    assert browser.execute_script("return document.querySelectorAll('main script').length;") == 0
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert  # noqa: B018 (reading it is the check)
    shot(browser, "console-partner.png")


def test_resend_from_a_webhooks_page_makes_a_new_attempt(browser: Any, fleet: Fleet) -> None:
    # GIVEN acme's page, and on it the link of a delivered webhook
    browser.get(f"{fleet.stack.console_url}/partners/acme")
    browser.find_element(*by("#attempts tbody td:nth-child(2) a")).click()
    wait_for(lambda: browser.find_elements(*by("pre.payload")), 20, "the webhook's page")
    before = len(browser.find_elements(*by("#attempts tbody tr")))
    # WHEN Resend is clicked and confirmed
    browser.find_element(*by('form[action$="/resend"] button')).click()
    browser.switch_to.alert.accept()
    # THEN the page says so, and the webhook's new attempt appears on it
    assert wait_for(lambda: browser.find_elements(*by("#done")), 20, "the notice")[0].text.startswith(
        "Sent again"
    )

    def more_attempts() -> bool:
        browser.refresh()
        return len(browser.find_elements(*by("#attempts tbody tr"))) > before

    wait_for(more_attempts, 60, "the resent webhook's attempt")


def test_disable_asks_for_confirmation_then_takes_effect(browser: Any, fleet: Fleet) -> None:
    # GIVEN acme active, its page open
    browser.get(f"{fleet.stack.console_url}/partners/acme")
    # WHEN Disable is clicked and the confirmation dismissed, then clicked and accepted
    browser.find_element(*by('form[action$="/disable"] button')).click()
    browser.switch_to.alert.dismiss()
    assert fleet.status("acme") == "active"
    browser.find_element(*by('form[action$="/disable"] button')).click()
    browser.switch_to.alert.accept()
    # THEN the page says so, the partner is disabled, and Enable brings it back
    notice = wait_for(lambda: browser.find_elements(*by("#done")), 20, "the notice")
    assert notice[0].text.startswith("Disabled")
    assert fleet.status("acme") == "disabled"
    browser.find_element(*by('form[action$="/enable"] button')).click()
    browser.switch_to.alert.accept()
    wait_for(lambda: browser.find_elements(*by("#done")) and fleet.status("acme") == "active", 20, "enable")


def test_a_portal_link_shows_its_partner_only_and_sends_a_test_event(browser: Any, fleet: Fleet) -> None:
    # GIVEN acme's portal link, made through the REST API
    answer = requests.post(f"{fleet.api}/partners/acme/portal-link", json={}, timeout=30)
    url = answer.json()["url"]
    # WHEN the partner opens it
    browser.delete_all_cookies()  # a partner has no operator session
    browser.get(url)
    # THEN it shows acme's deliveries and nothing of evil
    assert browser.find_element(*by("h1")).text == "Webhooks for acme"
    assert browser.find_elements(*by("#attempts tbody tr"))
    assert "evil" not in browser.page_source
    shot(browser, "portal.png")
    # AND a test event from the portal is delivered to acme
    before = len(fleet.deliveries("acme"))
    browser.find_element(*by('form[action$="/portal/test-event"] button')).click()
    browser.switch_to.alert.accept()
    wait_for(lambda: browser.find_elements(*by("#done")), 20, "the notice")
    wait_for(lambda: len(fleet.deliveries("acme")) > before, 60, "the test event's attempt")
    assert fleet.deliveries("acme")[0]["topic"] == "hookrelay.test"
    # AND the same link with its token altered, or the console without a session, gives nothing
    browser.get(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"))
    assert "invalid or has expired" in browser.find_element(*by("p.error")).text
    browser.get(f"{fleet.stack.console_url}/partners/evil")
    assert browser.current_url.endswith("/console/login")
