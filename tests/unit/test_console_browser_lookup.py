"""Where the console's browser tests find a browser, and what they do without one."""

from __future__ import annotations

from tests.support.browser import browser_paths, without_browser


def test_chromium_and_its_driver_are_both_needed() -> None:
    found = {"chromium": "/usr/bin/chromium", "chromedriver": "/usr/bin/chromedriver"}
    assert browser_paths(found.get) == ("/usr/bin/chromium", "/usr/bin/chromedriver")
    assert browser_paths({"chromium": "/usr/bin/chromium"}.get) is None
    assert browser_paths({"chromedriver": "/usr/bin/chromedriver"}.get) is None


def test_without_a_browser_ci_fails_and_elsewhere_the_tests_skip() -> None:
    # GIVEN no browser, WHEN under CI=true, THEN the run fails; WHEN not under CI, THEN the tests skip
    assert without_browser({"CI": "true"})[0] == "fail"
    assert without_browser({"CI": "TRUE"})[0] == "fail"
    assert without_browser({})[0] == "skip"
    assert without_browser({"CI": "false"})[0] == "skip"
    assert "apt-get install -y chromium chromium-driver" in without_browser({})[1]
