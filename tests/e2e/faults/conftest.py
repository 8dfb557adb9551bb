"""The fault suite: one local stack per module that asks for it, one partner per case, and every case
ending in an exact count (tests/support/ledger.py). Modules using ``stack`` also override the suite-wide
``_no_real_aws`` fixture: the stack sets (and restores) its own AWS environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hookrelay_local.stack import LocalStack, StackOptions, free_port


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(
        aws_port=free_port(), api_port=free_port(), receiver_port=free_port(), stage="faults"
    )
    with LocalStack(options) as running:
        yield running
