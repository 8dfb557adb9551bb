"""The account's quotas that partners spend, read cheaply: two AWS calls, cached for a few seconds.

Lambda's GetAccountSettings (concurrency, code storage) and IAM's GetAccountSummary (roles) answer with
the account's own values, increases included, so Service Quotas adds nothing for them; its quota codes
only say where to raise them. CloudWatch metric alarms have no count quota and SQS none on queues.
Where a call is not implemented (moto lacks GetAccountSettings) or not allowed, the documented default
stands in and says so: ``source`` is ``"documented default"``, usage is unknown (None). Any other failure
(throttling, a network error) is an error, never a guess a create would be refused or allowed on.

A burst of creates shares one read per service per ``ttl_seconds``; :meth:`QuotaReader.spent` adds what a
create or update just took to the cached usage, so the burst is not checked against stale numbers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal, TypeVar

from pydantic import BaseModel

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, DENIED_CODES, aws_error, error_code

Source = Literal["account", "documented default"]
ACCOUNT: Source = "account"
DOCUMENTED: Source = "documented default"
# docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html; IAM: reference_iam-quotas.html
DEFAULT_CONCURRENCY = 1000
UNRESERVED_FLOOR = 100  # Lambda keeps this much of the account's concurrency unreserved
DEFAULT_CODE_STORAGE = 75 * 1024**3
DEFAULT_CODE_UNZIPPED = 250 * 1024**2
DEFAULT_ROLES = 1000
# A call the endpoint does not implement (moto answers 404 "Not yet implemented"), or may not make.
UNAVAILABLE = frozenset(
    {"404", "NotImplemented", "UnknownOperationException", "InvalidAction", *DENIED_CODES}
)
CACHE_SECONDS = 5.0

Q = TypeVar("Q", bound=BaseModel)


class LambdaAccount(BaseModel):
    concurrent_executions: int
    unreserved: int | None
    code_storage: int
    code_storage_used: int | None
    functions: int | None
    code_size_unzipped: int
    source: Source
    note: str | None = None

    @property
    def reserved(self) -> int | None:
        """Concurrency already reserved (or provisioned) by functions of the account."""
        return None if self.unreserved is None else self.concurrent_executions - self.unreserved

    @property
    def reservable(self) -> int:
        return self.concurrent_executions - UNRESERVED_FLOOR


class IamAccount(BaseModel):
    roles: int | None
    roles_quota: int
    source: Source
    note: str | None = None


def _unavailable(exc: Exception) -> bool:
    return error_code(exc) in UNAVAILABLE


def read_lambda_account(clients: Clients) -> LambdaAccount:
    try:
        found = clients.lambda_.get_account_settings()
    except AWS_ERRORS as exc:
        if not _unavailable(exc):
            raise aws_error("read the Lambda account settings", exc) from exc
        return LambdaAccount(
            concurrent_executions=DEFAULT_CONCURRENCY,
            unreserved=None,
            code_storage=DEFAULT_CODE_STORAGE,
            code_storage_used=None,
            functions=None,
            code_size_unzipped=DEFAULT_CODE_UNZIPPED,
            source=DOCUMENTED,
            note=f"GetAccountSettings unavailable ({error_code(exc)}): documented defaults, usage unknown",
        )
    limit, usage = found.get("AccountLimit", {}), found.get("AccountUsage", {})
    return LambdaAccount(
        concurrent_executions=limit.get("ConcurrentExecutions", DEFAULT_CONCURRENCY),
        unreserved=limit.get("UnreservedConcurrentExecutions"),
        code_storage=limit.get("TotalCodeSize", DEFAULT_CODE_STORAGE),
        code_storage_used=usage.get("TotalCodeSize"),
        functions=usage.get("FunctionCount"),
        code_size_unzipped=limit.get("CodeSizeUnzipped", DEFAULT_CODE_UNZIPPED),
        source=ACCOUNT,
    )


def read_iam_account(clients: Clients) -> IamAccount:
    try:
        summary = clients.iam.get_account_summary()["SummaryMap"]
    except AWS_ERRORS as exc:
        if not _unavailable(exc):
            raise aws_error("read the IAM account summary", exc) from exc
        note = f"GetAccountSummary unavailable ({error_code(exc)}): documented default, usage unknown"
        return IamAccount(roles=None, roles_quota=DEFAULT_ROLES, source=DOCUMENTED, note=note)
    quota = summary.get("RolesQuota", DEFAULT_ROLES)
    return IamAccount(roles=summary.get("Roles"), roles_quota=quota, source=ACCOUNT)


class QuotaReader:
    """Reads each account summary at most once per ``ttl_seconds`` (per process); injectable in tests."""

    def __init__(
        self,
        ttl_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        read_lambda: Callable[[Clients], LambdaAccount] = read_lambda_account,
        read_iam: Callable[[Clients], IamAccount] = read_iam_account,
    ) -> None:
        self.ttl, self.clock = ttl_seconds, clock
        self._read_lambda, self._read_iam = read_lambda, read_iam
        self._cache: dict[str, tuple[float, BaseModel]] = {}
        self._lock = threading.Lock()

    def _cached(self, key: str, model: type[Q], read: Callable[[], Q]) -> Q:
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and self.clock() - hit[0] < self.ttl and isinstance(hit[1], model):
            return hit[1]
        value = read()
        with self._lock:
            self._cache[key] = (self.clock(), value)
        return value

    def lambda_account(self, clients: Clients) -> LambdaAccount:
        return self._cached("lambda", LambdaAccount, lambda: self._read_lambda(clients))

    def iam_account(self, clients: Clients) -> IamAccount:
        return self._cached("iam", IamAccount, lambda: self._read_iam(clients))

    def spent(self, roles: int = 0, concurrency: int = 0) -> None:
        """Count what a create or update just took in the cached usage (negative: gave back)."""
        with self._lock:
            iam = self._cache.get("iam")
            if iam is not None and isinstance(iam[1], IamAccount) and iam[1].roles is not None:
                self._cache["iam"] = (iam[0], iam[1].model_copy(update={"roles": iam[1].roles + roles}))
            lam = self._cache.get("lambda")
            if lam is not None and isinstance(lam[1], LambdaAccount) and lam[1].unreserved is not None:
                left = lam[1].unreserved - concurrency
                self._cache["lambda"] = (lam[0], lam[1].model_copy(update={"unreserved": left}))
