"""The AWS clients provisioning uses, injectable as a group, and the one place their errors convert.

``Clients(overrides={"lambda": fake})`` swaps one service (a test injecting a failure, the local stack
pointing somewhere else); the rest come from :func:`hookrelay.aws.clients.client`. ``sleep`` is injectable
so retries on IAM propagation cost nothing in tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hookrelay.aws import clients as aws
from hookrelay.errors import DependencyUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Clients:
    overrides: dict[str, Any] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep

    def get(self, service: str) -> Any:
        return self.overrides.get(service) or aws.client(service)

    @property
    def sqs(self) -> Any:
        return self.get("sqs")

    @property
    def iam(self) -> Any:
        return self.get("iam")

    @property
    def lambda_(self) -> Any:
        return self.get("lambda")

    @property
    def logs(self) -> Any:
        return self.get("logs")

    @property
    def cloudwatch(self) -> Any:
        return self.get("cloudwatch")

    @property
    def secretsmanager(self) -> Any:
        return self.get("secretsmanager")

    @property
    def dynamodb(self) -> Any:
        return self.get("dynamodb")

    @property
    def s3(self) -> Any:
        return self.get("s3")

    @property
    def sns(self) -> Any:
        return self.get("sns")


def while_propagating(what: str, call: Callable[[], T], clients: Clients, attempts: int) -> T:
    """Run ``call``, retrying with backoff (1, 2, 4, 8, 8... s) while AWS answers
    InvalidParameterValueException, which is how Lambda says a role made seconds ago (or its new
    permissions) has not propagated yet. Other errors, and the last attempt's, are raised as they are.
    """
    delay = 1.0
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except aws.AWS_ERRORS as exc:
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
    except aws.AWS_ERRORS as exc:
        if has_code(exc, *missing):
            return False
        raise unavailable(what, exc) from exc
    return True


def has_code(exc: Exception, *codes: str) -> bool:
    return aws.error_code(exc) in codes


def unavailable(what: str, exc: Exception) -> DependencyUnavailable:
    """The domain error for a failed AWS call, naming what was being done and the AWS error code."""
    return DependencyUnavailable(f"cannot {what}: {aws.error_code(exc)}")


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags in the ``[{"Key", "Value"}]`` form IAM, CloudWatch and Secrets Manager take."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
