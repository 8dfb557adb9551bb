"""A real browser for the console's tests: Debian's chromium driven by its chromium-driver (selenium).

No browser is ever downloaded: without ``chromium`` and ``chromedriver`` on the PATH these tests skip
saying how to install them (``make test`` tries, as root), except under CI (``CI=true``), where a
missing browser fails the run. One browser serves the whole module.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

INSTALL = "apt-get install -y chromium chromium-driver"


def browser_paths() -> tuple[str, str] | None:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    paths = browser_paths()
    if paths is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and no chromium/chromedriver on the PATH: {INSTALL}")
        pytest.skip(f"no chromium/chromedriver on the PATH ({INSTALL}; make test tries as root)")
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
