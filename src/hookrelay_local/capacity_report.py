"""The capacity table ``make deploy DRY_RUN=1`` prints: the same report as the provisioner's GET /capacity
(:mod:`hookrelay.provisioning.capacity`), read with the deploying credentials. Reading it never stops a
deploy: when AWS cannot be read (no credentials yet) the reason is printed instead."""

from __future__ import annotations

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS
from hookrelay.errors import HookrelayError
from hookrelay.provisioning.capacity import capacity, capacity_table
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.settings import ProvisionerSettings


def show_capacity(stage: str, clients: Clients) -> None:
    ctx = Provisioner(settings=ProvisionerSettings(stage=stage), clients=clients)
    try:
        print(capacity_table(capacity(ctx)))
    except (HookrelayError, *AWS_ERRORS) as exc:
        print(f"capacity: not read ({exc.message if isinstance(exc, HookrelayError) else exc})")
