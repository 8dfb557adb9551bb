"""Helpers for provisioning's AWS calls: waiting out IAM propagation, idempotent deletes, tag lists."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code

if TYPE_CHECKING:
    from types_boto3_iam.type_defs import TagTypeDef

logger = logging.getLogger(__name__)
T = TypeVar("T")


def while_propagating(what: str, call: Callable[[], T], clients: Clients, attempts: int) -> T:
    """Run ``call``, retrying with backoff (1, 2, 4, 8, 8... s) while AWS answers
    InvalidParameterValueException, which is how Lambda says a role made seconds ago (or its new
    permissions) has not propagated yet. Other errors, and the last attempt's, are raised as they are.
    """
    delay = 1.0
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except AWS_ERRORS as exc:
            if not has_code(exc, "InvalidParameterValueException") or attempt == attempts:
                raise
            logger.info(
                "not usable yet (IAM propagation); retrying", extra={"what": what, "attempt": attempt}
            )
            clients.sleep(delay)
            delay = min(delay * 2, 8.0)
    raise AssertionError("attempts must be at least 1")


def removed(what: str, call: Callable[[], object], *missing: str) -> bool:
    """Run a delete call: True when it removed something, False when AWS says it was not there."""
    try:
        call()
    except AWS_ERRORS as exc:
        if has_code(exc, *missing):
            return False
        raise aws_error(what, exc) from exc
    return True


def tag_list(tags: dict[str, str]) -> list[TagTypeDef]:
    """Tags in the ``[{"Key", "Value"}]`` form IAM and CloudWatch take (the same TypedDict in both stubs)."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
