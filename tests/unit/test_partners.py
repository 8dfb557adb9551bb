"""Partner options: validated ranges, derived timeouts, event type matching (no AWS)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hookrelay.partners.model import (
    DeliveryOptions,
    Partner,
    PartnerCreate,
    function_timeout,
    visibility_timeout,
)

URL = "https://example.com/hook"


@pytest.mark.parametrize(
    ("post", "connect", "read", "timeout"),
    [
        (5, 5.0, 15.0, 50),  # the defaults: 2 rounds x 20 s + 10 s margin
        (10, 5.0, 15.0, 30),  # one round
        (1, 30.0, 60.0, 900),  # 10 rounds x 90 s = 900 + 10, capped at Lambda's 900 s
        (3, 1.5, 2.2, 25),  # ceil(10/3) = 4 rounds x 3.7 s = 14.8 -> 15 + 10
    ],
)
def test_function_timeout_follows_post_concurrency_and_http_timeouts(
    post: int, connect: float, read: float, timeout: int
) -> None:
    options = DeliveryOptions(url=URL, post_concurrency=post, connect_timeout=connect, read_timeout=read)
    assert function_timeout(options) == timeout
    assert visibility_timeout(options) == 6 * timeout


@pytest.mark.parametrize(
    "bad",
    [
        {"reserved_concurrency": 1},
        {"reserved_concurrency": 1001},
        {"max_concurrency": 1},
        {"max_concurrency": 1001},
        {"provisioned_concurrency": 0},
        {"max_concurrency": 10, "reserved_concurrency": 5},  # the mapping would be throttled
        {"reserved_concurrency": 2, "provisioned_concurrency": 3},  # more warm than reserved
        {"post_concurrency": 0},
        {"post_concurrency": 11},
        {"connect_timeout": 0},
        {"read_timeout": 61},
        {"event_types": ["bad topic"]},
        {"url": "ftp://example.com"},
        {"url": "https://user:pw@example.com"},
    ],
)
def test_options_out_of_range_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DeliveryOptions.model_validate({"url": URL, **bad})


def test_reserved_partner_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="reserved"):
        PartnerCreate(partner_id="acme-dlq", url=URL)


@pytest.mark.parametrize(
    ("event_types", "topic", "accepted"),
    [
        ([], "anything", True),
        (["*"], "anything", True),
        (["invoice.paid"], "invoice.paid", True),
        (["invoice.paid"], "invoice.failed", False),
        (["invoice.*"], "invoice.failed", True),
        (["invoice.*"], "invoices.failed", False),
    ],
)
def test_event_types_accept_exact_names_and_prefix_wildcards(
    event_types: list[str], topic: str, accepted: bool
) -> None:
    assert Partner(partner_id="acme", url=URL, event_types=event_types).accepts(topic) is accepted
