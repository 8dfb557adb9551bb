"""Finding Debian's chromium and its driver, and what a run without them does: skip, or under CI fail."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping

INSTALL = "apt-get install -y chromium chromium-driver"


def browser_paths(which: Callable[[str], str | None] = shutil.which) -> tuple[str, str] | None:
    """(chromium, chromedriver) on the PATH, or None. Never a downloaded browser."""
    binary = which("chromium") or which("chromium-browser")
    driver = which("chromedriver")
    return (binary, driver) if binary and driver else None


def without_browser(environment: Mapping[str, str]) -> tuple[str, str]:
    """("fail" | "skip", why): a CI run (CI=true) must have the browser; elsewhere the tests skip."""
    if environment.get("CI", "").lower() == "true":
        return "fail", f"CI=true and no chromium/chromedriver on the PATH: {INSTALL}"
    return "skip", f"no chromium/chromedriver on the PATH ({INSTALL}; make test tries as root)"
