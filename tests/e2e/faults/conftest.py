"""The fault suite: one local stack per module that asks for it, one partner per case, and every case
ending in an exact count (tests/support/ledger.py). Modules using ``stack`` also override the suite-wide
``_no_real_aws`` fixture: the stack sets (and restores) its own AWS environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hookrelay_local.stack import LocalStack, StackOptions


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(aws_port=0, api_port=0, receiver_port=0, stage="faults")
    with LocalStack(options) as running:
        yield running
