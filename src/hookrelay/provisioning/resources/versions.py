"""A partner function's published versions and its ``live`` alias, which its queue mapping invokes.

The mapping targets ``<function>:live``, never ``$LATEST``: a change (new code from update-code, a new
environment from update or rotate) is published as a version and becomes live when the alias moves, in
one step; rolling back is moving the alias to the version before. Provisioned concurrency, when a
partner opts in, is configured on the alias (it follows the alias to each new version).

Pruning keeps the newest ``keep`` versions (each counts against Lambda's code storage): after publishing
version ``n`` it deletes version ``n - keep``, one DeleteFunction per publish, never the live one. As
every publish prunes, a function holds at most ``keep`` versions without listing them (a listing would
cost one more call per partner out of the control plane's 15 per second).
"""

from __future__ import annotations

import logging
from typing import Any

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code

logger = logging.getLogger(__name__)

LIVE = "live"
MISSING = "ResourceNotFoundException"
NO_CONFIG = ("ProvisionedConcurrencyConfigNotFoundException", MISSING)


def publish_version(name: str, clients: Clients, code_sha256: str | None = None) -> int:
    """Publish the function's current code and configuration; return the version number.

    With ``code_sha256`` Lambda publishes only if the code is still that one (a concurrent update
    would otherwise be published under this rollout's name).
    """
    try:
        if code_sha256:
            published = clients.lambda_.publish_version(FunctionName=name, CodeSha256=code_sha256)
        else:
            published = clients.lambda_.publish_version(FunctionName=name)
    except AWS_ERRORS as exc:
        raise aws_error(
            f"publish a version of {name}", exc, missing=f"function {name} does not exist"
        ) from exc
    return int(published["Version"])


def target(name: str) -> str:
    """What a partner's mapping invokes: ``<function>:live`` (Lambda takes ``name:qualifier`` anywhere
    it takes a function name; AWS then reports the alias ARN as the mapping's FunctionArn)."""
    return f"{name}:{LIVE}"


def live_version(name: str, clients: Clients) -> int | None:
    """The version ``live`` points at (None: no alias yet). GetFunction: its own quota, 100/s."""
    try:
        found = clients.lambda_.get_function(FunctionName=name, Qualifier=LIVE)
    except AWS_ERRORS as exc:
        if has_code(exc, MISSING):
            return None
        raise aws_error(f"read the live version of {name}", exc) from exc
    version = str(found["Configuration"].get("Version", ""))
    return int(version) if version.isdigit() else None


def migrate_mapping(name: str, clients: Clients) -> int:
    """Move mappings made before the alias (on the bare function) to ``live``; return how many.

    Remade rather than updated: the new mapping exists before the old one goes (nothing is left
    unpolled; a message in flight is at most delivered twice, which the handler tolerates)."""
    try:
        found = clients.lambda_.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
        for old in found:
            same: Any = {
                k: old[k] for k in ("BatchSize", "FunctionResponseTypes", "ScalingConfig") if k in old
            }
            clients.lambda_.create_event_source_mapping(
                FunctionName=target(name),
                EventSourceArn=old["EventSourceArn"],
                Enabled=old.get("State") not in ("Disabled", "Disabling"),
                **same,
            )
            clients.lambda_.delete_event_source_mapping(UUID=old["UUID"])
    except AWS_ERRORS as exc:
        raise aws_error(f"move the mapping of {name} to its live alias", exc) from exc
    return len(found)


def move_live(name: str, version: int, clients: Clients, fresh: bool = False) -> tuple[str, bool]:
    """Point ``live`` at ``version`` (making the alias if missing; ``fresh``: a function made just now,
    so the alias is made first, one call); return (alias ARN, made now)."""
    try:
        if not fresh:
            moved = clients.lambda_.update_alias(FunctionName=name, Name=LIVE, FunctionVersion=str(version))
            return str(moved["AliasArn"]), False
    except AWS_ERRORS as exc:
        if not has_code(exc, MISSING):
            raise aws_error(f"move the live alias of {name}", exc) from exc
    try:
        made = clients.lambda_.create_alias(FunctionName=name, Name=LIVE, FunctionVersion=str(version))
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceConflictException"):  # made meanwhile by a concurrent change
            return move_live(name, version, clients)
        raise aws_error(
            f"create the live alias of {name}", exc, missing=f"function {name} does not exist"
        ) from exc
    return str(made["AliasArn"]), True


def prune(name: str, newest: int, keep: int, live: int, clients: Clients) -> int | None:
    """Delete version ``newest - keep`` unless it is live; return the version deleted (None: none)."""
    old = newest - keep
    if old < 1 or old == live:
        return None
    try:
        clients.lambda_.delete_function(FunctionName=name, Qualifier=str(old))
    except AWS_ERRORS as exc:
        if has_code(exc, MISSING):
            return None
        if has_code(exc, "ResourceConflictException"):  # an alias still points at it: keep it
            logger.info("version kept: in use", extra={"function": name, "version": old})
            return None
        raise aws_error(f"delete version {old} of {name}", exc) from exc
    return old


def release(
    name: str, clients: Clients, keep: int, code_sha256: str | None = None, fresh: bool = False
) -> tuple[str, int]:
    """Publish what the function now holds, make it live, prune; return (alias ARN, version).

    The one step every change ends with (create, update, rotate, update-code). ``fresh``: the function
    was made just now (version 1, no alias yet, nothing to prune)."""
    version = publish_version(name, clients, code_sha256)
    arn, _ = move_live(name, version, clients, fresh)
    if not fresh:
        prune(name, version, keep, version, clients)
    return arn, version


def set_provisioned_concurrency(name: str, amount: int | None, clients: Clients) -> None:
    """Provision ``amount`` instances on the live alias, or remove the configuration (None)."""
    try:
        if amount:
            clients.lambda_.put_provisioned_concurrency_config(
                FunctionName=name, Qualifier=LIVE, ProvisionedConcurrentExecutions=amount
            )
        else:
            clients.lambda_.delete_provisioned_concurrency_config(FunctionName=name, Qualifier=LIVE)
    except AWS_ERRORS as exc:
        if not amount and has_code(exc, *NO_CONFIG):
            return
        raise aws_error(f"set the provisioned concurrency of {name}:{LIVE}", exc) from exc


def go_live(
    name: str,
    clients: Clients,
    keep: int,
    provisioned: int | None = None,
    provisioned_before: int | None = None,
    fresh: bool = False,
) -> str:
    """After a change to the function (create, update): publish it and move ``live`` (pruning), move a
    mapping made before the alias onto it, apply provisioned concurrency if it changed; return the
    mapping's target. ``fresh`` (a partner's first create): no alias and no old mapping can exist yet,
    so neither is looked for (two Lambda control-plane calls fewer per create)."""
    release(name, clients, keep, fresh=fresh)
    if not fresh:
        migrate_mapping(name, clients)
    if provisioned != provisioned_before:
        set_provisioned_concurrency(name, provisioned, clients)
    return target(name)
