"""A partner's change lease: one rotation or update of a partner at a time, across provisioner instances.

A rotation reads the partner's keys and writes them back with one more (Secrets Manager has no
conditional write). Two rotations at once would both read the same keys and the later write would drop
the earlier's key: its caller would hold a secret nothing signs with. So a rotation first takes a lease
on the partner's item in the partners table: one conditional UpdateItem sets ``rotation_lease_until``
(epoch seconds) if the attribute is missing or already past. The loser writes nothing (its secret is
never generated) and gets :class:`~hookrelay.errors.Conflict` (409, "a rotation of 'acme' is in
progress; retry"). The lease is removed when the rotation ends, failed or not (a conditional REMOVE
on the value it set, so it never removes a later holder's lease).

A rotation that crashes (its Lambda killed) leaves the lease behind: it expires by itself after
:data:`LEASE_SECONDS`, longer than the provisioner API's 60 s Lambda timeout (the longest a rotation
can run there), short enough that a retry after a crash waits at most two minutes.

An update takes the same lease: both rebuild the handler's environment from the partner as they read
it, so an update landing inside a rotation could put back the options the rotation read (or the
rotation the update's); the loser is told which change holds the lease ("an update of 'acme' is in
progress; retry"). An update that changes nothing takes no lease (it writes nothing).

Why the partners table and not Secrets Manager's version stages: the lease also covers what follows
the write (the handler's configuration, a published version, the alias moved), which two rotations
would otherwise change at once; a conditional write in DynamoDB is one call, atomic, and expires by
comparison with the clock, with no cleanup. Partner writes set only ``doc`` and ``status``
(``PartnerRepository.put``), so the lease survives any change of the partner meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

LEASE_ATTRIBUTE = "rotation_lease_until"  # the name from before updates took it too: kept for live items
KIND_ATTRIBUTE = "change_lease_kind"
LEASE_SECONDS = 120
CHECK_FAILED = "ConditionalCheckFailedException"


def take_lease(
    table: str,
    partner_id: str,
    now: datetime,
    clients: Clients,
    seconds: int = LEASE_SECONDS,
    change: str = "rotation",
) -> str:
    """Set the lease until ``now + seconds`` for ``change``; return its value. Conflict while another
    change holds it (naming that change)."""
    until = f"{now.timestamp() + seconds:.6f}"
    try:
        clients.dynamodb.update_item(
            TableName=table,
            Key={"partner_id": {"S": partner_id}},
            UpdateExpression="SET #lease = :until, #kind = :kind",
            ConditionExpression="attribute_exists(partner_id) AND "
            "(attribute_not_exists(#lease) OR #lease < :now)",
            ExpressionAttributeNames={"#lease": LEASE_ATTRIBUTE, "#kind": KIND_ATTRIBUTE},
            ExpressionAttributeValues={
                ":until": {"N": until},
                ":now": {"N": f"{now.timestamp():.6f}"},
                ":kind": {"S": change},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except AWS_ERRORS as exc:
        if not has_code(exc, CHECK_FAILED):
            raise aws_error(f"take the change lease of partner {partner_id}", exc) from exc
        item = getattr(exc, "response", {}).get("Item")
        if item is None:  # deleted since it was read
            raise NotFound(f"partner {partner_id!r} does not exist") from exc
        holder = item.get(KIND_ATTRIBUTE, {}).get("S", "rotation")
        article = "an" if holder[:1] in "aeiou" else "a"
        raise Conflict(f"{article} {holder} of {partner_id!r} is in progress; retry") from exc
    return until


def release_lease(table: str, partner_id: str, until: str, clients: Clients) -> None:
    """Remove the lease if it is still ours; a failure is logged only (the lease expires anyway)."""
    try:
        clients.dynamodb.update_item(
            TableName=table,
            Key={"partner_id": {"S": partner_id}},
            UpdateExpression="REMOVE #lease, #kind",
            ConditionExpression="#lease = :until",
            ExpressionAttributeNames={"#lease": LEASE_ATTRIBUTE, "#kind": KIND_ATTRIBUTE},
            ExpressionAttributeValues={":until": {"N": until}},
        )
    except AWS_ERRORS as exc:
        if has_code(exc, CHECK_FAILED):  # not ours any more: expired and taken, or the partner deleted
            return
        logger.warning("change lease not released: it expires by itself", extra={"partner_id": partner_id})


@contextmanager
def change_lease(table: str, partner_id: str, now: datetime, clients: Clients, change: str) -> Iterator[None]:
    """Hold the partner's change lease for ``change`` during the ``with`` block (see the module docstring)."""
    until = take_lease(table, partner_id, now, clients, change=change)
    try:
        yield
    finally:
        release_lease(table, partner_id, until, clients)
