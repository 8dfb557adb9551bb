"""The event source mapping from a partner's queue to its handler: batch of 10, partial failures on.

Its ``ScalingConfig.MaximumConcurrency`` is the partner's ceiling (``max_concurrency``): it caps how many
handler instances the queue may keep busy without reserving any of the account's concurrency.
"""

from __future__ import annotations

from typing import Any

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.partners.model import BATCH_SIZE
from hookrelay.provisioning.resources.calls import while_propagating

MIN_MAXIMUM_CONCURRENCY = 2  # AWS refuses ScalingConfig.MaximumConcurrency below 2


def find_mapping(function_name: str, queue_arn: str | None, clients: Clients) -> dict[str, Any] | None:
    """The mapping of this function (from this queue, when given), or None."""
    try:
        found = clients.lambda_.list_event_source_mappings(FunctionName=function_name)
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            return None
        raise aws_error(f"list the mappings of {function_name}", exc) from exc
    for mapping in found.get("EventSourceMappings", []):
        if queue_arn is None or mapping.get("EventSourceArn") == queue_arn:
            return dict(mapping)
    return None


def _settings(max_concurrency: int) -> dict[str, Any]:
    return {
        "BatchSize": BATCH_SIZE,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": max(MIN_MAXIMUM_CONCURRENCY, max_concurrency)},
    }


def ensure_mapping(
    function_name: str, queue_arn: str, max_concurrency: int, clients: Clients, attempts: int = 6
) -> str:
    """Create the mapping or bring it to these settings (its enabled state is left as it is).

    Lambda checks the role may read the queue; a policy put seconds ago may not be visible yet.
    """
    existing = find_mapping(function_name, queue_arn, clients)
    wanted = _settings(max_concurrency)
    try:
        if existing is not None:
            if any(existing.get(key) != value for key, value in wanted.items()):  # else: no Lambda call
                clients.lambda_.update_event_source_mapping(UUID=existing["UUID"], **wanted)
            return str(existing["UUID"])
        created = while_propagating(
            f"map the queue to {function_name}",
            lambda: clients.lambda_.create_event_source_mapping(
                EventSourceArn=queue_arn,
                FunctionName=function_name,
                Enabled=True,
                **wanted,
            ),
            clients,
            attempts,
        )
    except AWS_ERRORS as exc:
        raise aws_error(f"map the queue to {function_name}", exc) from exc
    return str(created["UUID"])


def set_enabled(function_name: str, enabled: bool, clients: Clients) -> bool:
    """Enable or disable the mapping; False when there is none."""
    existing = find_mapping(function_name, None, clients)
    if existing is None:
        return False
    try:
        clients.lambda_.update_event_source_mapping(UUID=existing["UUID"], Enabled=enabled)
    except AWS_ERRORS as exc:
        raise aws_error(f"{'enable' if enabled else 'disable'} the mapping of {function_name}", exc) from exc
    return True


def delete_mappings(function_name: str, clients: Clients) -> int:
    """Delete every mapping of the function (AWS finishes deleting in the background); return how many."""
    try:
        found = clients.lambda_.list_event_source_mappings(FunctionName=function_name)
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            return 0
        raise aws_error(f"list the mappings of {function_name}", exc) from exc
    removed = 0
    for mapping in found.get("EventSourceMappings", []):
        if mapping.get("State") == "Deleting":
            continue
        try:
            clients.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])
        except AWS_ERRORS as exc:
            if has_code(exc, "ResourceNotFoundException"):
                continue
            raise aws_error(f"delete the mapping of {function_name}", exc) from exc
        removed += 1
    return removed
