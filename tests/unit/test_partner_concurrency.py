"""Concurrency options: the mapping's ceiling by default, reservation and provisioning opt-in, partners
stored before the ceiling existed loading as they ran (no AWS)."""

from __future__ import annotations

import json

from hookrelay.partners.model import DeliveryOptions, Partner
from hookrelay.partners.update import PartnerUpdate

URL = "https://example.com/hook"


def stored_before_ceilings(reserved: int) -> str:
    """A partners-table document as written before max_concurrency and provisioned_concurrency."""
    return json.dumps(
        {
            "url": URL,
            "event_types": [],
            "reserved_concurrency": reserved,
            "post_concurrency": 5,
            "connect_timeout": 5.0,
            "read_timeout": 15.0,
            "legacy_signature": False,
            "partner_id": "acme",
            "status": "active",
            "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z",
        }
    )


def test_defaults_reserve_nothing_and_cap_the_mapping_at_two() -> None:
    options = DeliveryOptions(url=URL)
    assert (options.max_concurrency, options.reserved_concurrency, options.provisioned_concurrency) == (
        2,
        None,
        None,
    )
    assert options.claimed_concurrency() == 0


def test_a_partner_stored_with_the_old_default_keeps_its_reservation_and_ceiling() -> None:
    # GIVEN a partner stored when reserved concurrency 2 was the required default (mapping ceiling 2)
    # WHEN it is loaded, THEN it still reserves 2 and its ceiling is 2: a deploy changes nothing it runs with
    partner = Partner.model_validate_json(stored_before_ceilings(2))
    assert (partner.max_concurrency, partner.reserved_concurrency, partner.provisioned_concurrency) == (
        2,
        2,
        None,
    )
    assert partner.claimed_concurrency() == 2


def test_a_partner_stored_with_a_larger_reservation_keeps_it_as_its_ceiling_too() -> None:
    partner = Partner.model_validate_json(stored_before_ceilings(7))
    assert (partner.max_concurrency, partner.reserved_concurrency) == (7, 7)
    # AND once saved again it reads back the same (the document now has max_concurrency)
    assert Partner.model_validate_json(partner.model_dump_json()) == partner


def test_a_partner_stored_after_the_change_keeps_its_own_ceiling() -> None:
    document = json.loads(stored_before_ceilings(9)) | {"max_concurrency": 3}
    partner = Partner.model_validate(document)
    assert (partner.max_concurrency, partner.reserved_concurrency) == (3, 9)


def test_claimed_concurrency_is_the_reservation_else_the_provisioned_instances() -> None:
    both = DeliveryOptions(url=URL, reserved_concurrency=5, provisioned_concurrency=3)
    assert both.claimed_concurrency() == 5
    assert DeliveryOptions(url=URL, provisioned_concurrency=3).claimed_concurrency() == 3


def test_an_update_with_null_releases_concurrency_and_ignores_other_nulls() -> None:
    update = PartnerUpdate.model_validate(
        {"reserved_concurrency": None, "provisioned_concurrency": None, "url": None, "max_concurrency": 4}
    )
    assert update.changes() == {
        "reserved_concurrency": None,
        "provisioned_concurrency": None,
        "max_concurrency": 4,
    }
    assert PartnerUpdate().changes() == {}
