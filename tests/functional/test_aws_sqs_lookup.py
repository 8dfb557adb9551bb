"""The one queue URL lookup (hookrelay.aws.sqs.queue_url / find_queue_url), on moto."""

from __future__ import annotations

from typing import Any

import pytest

from hookrelay.aws.sqs import find_queue_url, lookup_queue_url
from hookrelay.errors import NotFound

ACCOUNT = "123456789012"  # moto's default account


def test_a_queue_is_found_by_name_and_by_name_in_its_owners_account(sqs: Any) -> None:
    # GIVEN a queue
    url = sqs.create_queue(QueueName="hookrelay-dev-acme")["QueueUrl"]
    # WHEN it is looked up by name, and by name in the account that owns it (the local Lambda poller's
    # lookup from a mapping's queue ARN) THEN both give its URL
    assert lookup_queue_url("hookrelay-dev-acme", sqs) == url
    assert lookup_queue_url("hookrelay-dev-acme", sqs, owner=ACCOUNT) == url


def test_a_missing_queue_is_not_found_or_none(sqs: Any) -> None:
    with pytest.raises(NotFound, match=r"^queue hookrelay-dev-nobody does not exist"):
        lookup_queue_url("hookrelay-dev-nobody", sqs)
    assert find_queue_url("hookrelay-dev-nobody", sqs) is None
