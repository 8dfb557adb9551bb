"""Provisioner settings from the environment, and the tags every partner resource carries."""

from __future__ import annotations

import pytest

from hookrelay.provisioning.settings import ProvisionerSettings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("loopback", ("loopback",)),
        ("loopback,10.0.0.0/8", ("loopback", "10.0.0.0/8")),
        ('["loopback", "private"]', ("loopback", "private")),
    ],
)
def test_allowed_networks_read_as_a_list_or_json(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: tuple[str, ...]
) -> None:
    # GIVEN HOOKRELAY_ALLOWED_NETWORKS in either form, WHEN settings load, THEN the names are read
    monkeypatch.setenv("HOOKRELAY_ALLOWED_NETWORKS", raw)
    assert ProvisionerSettings().allowed_networks == expected


def test_defaults_and_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN stage prod, WHEN settings load, THEN logs are kept 30 days and resources are tagged
    monkeypatch.setenv("HOOKRELAY_STAGE", "prod")
    settings = ProvisionerSettings()
    assert (settings.log_retention_days, settings.bucket) == (30, "hookrelay-prod-artifacts")
    assert settings.tags("acme") == {
        "project": "hookrelay",
        "environment": "prod",
        "partner": "acme",
        "creator": "hookrelay-provisioner",
    }
