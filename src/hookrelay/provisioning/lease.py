"""A partner's rotation lease: one rotation of a partner's secret at a time, across provisioner instances.

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

LEASE_ATTRIBUTE = "rotation_lease_until"
LEASE_SECONDS = 120
CHECK_FAILED = "ConditionalCheckFailedException"


def take_lease(
    table: str, partner_id: str, now: datetime, clients: Clients, seconds: int = LEASE_SECONDS
) -> str:
    """Set the lease until ``now + seconds``; return its value. Conflict while another holds it."""
    until = f"{now.timestamp() + seconds:.6f}"
    try:
        clients.dynamodb.update_item(
            TableName=table,
            Key={"partner_id": {"S": partner_id}},
            UpdateExpression="SET #lease = :until",
            ConditionExpression="attribute_exists(partner_id) AND "
            "(attribute_not_exists(#lease) OR #lease < :now)",
            ExpressionAttributeNames={"#lease": LEASE_ATTRIBUTE},
            ExpressionAttributeValues={":until": {"N": until}, ":now": {"N": f"{now.timestamp():.6f}"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except AWS_ERRORS as exc:
        if not has_code(exc, CHECK_FAILED):
            raise aws_error(f"take the rotation lease of partner {partner_id}", exc) from exc
        if "Item" not in getattr(exc, "response", {}):  # deleted since it was read
            raise NotFound(f"partner {partner_id!r} does not exist") from exc
        raise Conflict(f"a rotation of {partner_id!r} is in progress; retry") from exc
    return until


def release_lease(table: str, partner_id: str, until: str, clients: Clients) -> None:
    """Remove the lease if it is still ours; a failure is logged only (the lease expires anyway)."""
    try:
        clients.dynamodb.update_item(
            TableName=table,
            Key={"partner_id": {"S": partner_id}},
            UpdateExpression="REMOVE #lease",
            ConditionExpression="#lease = :until",
            ExpressionAttributeNames={"#lease": LEASE_ATTRIBUTE},
            ExpressionAttributeValues={":until": {"N": until}},
        )
    except AWS_ERRORS as exc:
        if has_code(exc, CHECK_FAILED):  # not ours any more: expired and taken, or the partner deleted
            return
        logger.warning("rotation lease not released: it expires by itself", extra={"partner_id": partner_id})


@contextmanager
def rotation_lease(table: str, partner_id: str, now: datetime, clients: Clients) -> Iterator[None]:
    """Hold the partner's rotation lease for the ``with`` block (see the module docstring)."""
    until = take_lease(table, partner_id, now, clients)
    try:
        yield
    finally:
        release_lease(table, partner_id, until, clients)
