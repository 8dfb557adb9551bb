"""The handler's layer ships the versions the tests run: each pin of ``handler/requirements.txt`` (the
layer) and ``handler/vendor-requirements.txt`` (vendored beside the core) is the virtualenv's version.

A layer that drifted from the virtualenv would be tested nowhere but in the packaged tests; wrapt is the
case in point: 1.x in both (2.x imports asyncio, ~9 ms of CPU of a sampled cold start).
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

HANDLER = Path(__file__).resolve().parents[2] / "handler"


def _pins() -> list[tuple[str, str]]:
    pins = []
    for name in ("requirements.txt", "vendor-requirements.txt"):
        for line in (HANDLER / name).read_text().splitlines():
            requirement = line.split("#", 1)[0].strip()
            if requirement:
                package, separator, pinned = requirement.partition("==")
                assert separator, f"{name}: {requirement!r} is not pinned with =="
                pins.append((package.strip(), pinned.strip()))
    return pins


@pytest.mark.parametrize(("package", "pinned"), _pins())
def test_each_package_the_handler_ships_is_the_version_the_tests_run(package: str, pinned: str) -> None:
    # GIVEN a package the handler's Lambda ships WHEN its pin is read THEN the virtualenv has that version
    assert version(package) == pinned


def test_the_handler_ships_wrapt_1() -> None:
    # GIVEN the layer's pins THEN wrapt is 1.x (what a sampled cold start imports with the SDK)
    assert dict(_pins())["wrapt"].split(".")[0] == "1"
