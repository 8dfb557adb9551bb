"""`make demo` keeps working: a small run ends with every event delivered and none lost."""

from __future__ import annotations

import pytest

from hookrelay_local import demo

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _no_real_aws() -> None:
    """Overrides the suite-wide fixture: the stack sets (and restores) its own AWS environment."""


def test_a_small_demo_loses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.run(events=9) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    # duplicates are allowed (at-least-once); a lost webhook is not
    assert last.startswith("events published: 9, delivered: 9, duplicates: ")
    assert last.endswith(", lost: 0")
