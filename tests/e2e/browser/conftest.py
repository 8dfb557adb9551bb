"""A real browser for the console's tests: Debian's chromium driven by its chromium-driver (selenium).

No browser is ever downloaded: without ``chromium`` and ``chromedriver`` on the PATH these tests skip
saying how to install them (``make test`` tries, as root), except under CI (``CI=true``), where a
missing browser fails the run. One browser serves the whole module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import browser_paths, without_browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    paths = browser_paths()
    if paths is None:
        outcome, why = without_browser(os.environ)
        if outcome == "fail":
            pytest.fail(why)
        pytest.skip(why)
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must never fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1100,720", "--no-first-run", "--disable-extensions"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=paths[1]))
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
