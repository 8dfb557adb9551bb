"""What one more partner costs in IAM roles and CloudWatch alarms, per stage setting (for capacity)."""

from __future__ import annotations

import pytest

from hookrelay.provisioning.settings import ProvisionerSettings


@pytest.mark.parametrize(("mode", "per_partner", "per_stage"), [("per-partner", 1, 0), ("shared", 0, 1)])
def test_roles_follow_the_handler_role_mode(mode: str, per_partner: int, per_stage: int) -> None:
    settings = ProvisionerSettings(stage="dev", handler_role=mode)  # type: ignore[arg-type]
    assert (settings.roles_per_partner, settings.stage_roles) == (per_partner, per_stage)


def test_only_partners_listed_for_their_own_alarms_cost_alarms() -> None:
    # GIVEN acme listed for its own alarms
    settings = ProvisionerSettings(stage="dev", partner_alarms=("acme",))
    # THEN a partner costs no alarm, acme three (the stage's three alarms cover everyone)
    assert (settings.alarms_per_partner, settings.stage_alarms) == (0, 3)
    assert (settings.alarms_of("acme"), settings.alarms_of("globex")) == (3, 0)


def test_the_settings_read_the_modes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKRELAY_HANDLER_ROLE", "shared")
    monkeypatch.setenv("HOOKRELAY_PARTNER_ALARMS", '["acme", "initech"]')
    settings = ProvisionerSettings()
    assert (settings.handler_role, settings.partner_alarms) == ("shared", ("acme", "initech"))


def test_an_unknown_handler_role_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="per-partner"):
        ProvisionerSettings(stage="dev", handler_role="per-function")  # type: ignore[arg-type]
