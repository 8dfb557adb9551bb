"""The local-stack tests: each module starts a whole stack (moto's server, the apps, the runtime), which
sets and restores its own AWS environment."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_real_aws() -> None:
    """Overrides the suite-wide fixture: the stack sets (and restores) its own AWS environment."""
