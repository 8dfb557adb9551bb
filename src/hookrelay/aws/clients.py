"""Lazy, cached, injectable boto3 clients, one per service per process, and :class:`Clients`, a group of them.

The endpoint comes from the standard ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``)
variables, which botocore reads itself: the same code talks to moto, LocalStack or AWS.
Functions that call AWS take an optional client argument; when it is omitted they use
:func:`client`, which creates one on first use and caches it. Code that needs several services takes a
:class:`Clients`: ``Clients(overrides={"lambda": fake})`` swaps one service (a test injecting a failure,
the local stack pointing somewhere else), the rest come from :func:`client`; its ``sleep`` is injectable
so waits cost nothing in tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast, overload

if TYPE_CHECKING:  # type stubs (types-boto3) are a dev dependency; nothing here is imported at run time
    from botocore.config import Config
    from types_boto3_cloudwatch import CloudWatchClient
    from types_boto3_dynamodb import DynamoDBClient
    from types_boto3_iam import IAMClient
    from types_boto3_lambda import LambdaClient
    from types_boto3_logs import CloudWatchLogsClient
    from types_boto3_s3 import S3Client
    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_service_quotas import ServiceQuotasClient
    from types_boto3_sns import SNSClient
    from types_boto3_sqs import SQSClient
    from types_boto3_sts import STSClient

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, Config], Any] = {}

# The two botocore configs are made on first use (``aws.clients.CLIENT_CONFIG``, a module attribute like
# any other): importing botocore.config costs a cold start ~20 ms, and the delivery handler, which calls
# AWS through :mod:`hookrelay.aws.wire`, never makes a botocore client.
_CONFIGS: dict[str, dict[str, Any]] = {
    # Adaptive retries absorb throttling; short connect timeout so a dead endpoint fails fast.
    "CLIENT_CONFIG": {
        "retries": {"max_attempts": 5, "mode": "standard"},
        "connect_timeout": 5,
        "read_timeout": 30,
        "max_pool_connections": 50,
    },
    # For calls made while an HTTP caller waits (the receiver, behind API Gateway's 29 s and its own 30 s
    # dedup lease): fail in seconds, not minutes. At most 2 tries of (1 s connect + 2 s read) plus one
    # backoff (standard mode: at most 1 s) = 7 s per call, so a receiver request whose secret is read
    # (secret, claim, send, complete) stays under 28 s, and claim-to-complete (send, complete) under 14 s,
    # even when every call's first try times out (tests/unit/test_receiver_timeouts.py checks it).
    "INTERACTIVE_CONFIG": {
        "retries": {"total_max_attempts": 2, "mode": "standard"},
        "connect_timeout": 1,
        "read_timeout": 2,
        "max_pool_connections": 10,
    },
}
_made: dict[str, Config] = {}


def __getattr__(name: str) -> Config:
    """``CLIENT_CONFIG`` and ``INTERACTIVE_CONFIG``, each made once (the same object every time: the
    client cache is keyed by it)."""
    if name not in _CONFIGS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _lock:
        if name not in _made:
            from botocore.config import Config

            _made[name] = Config(**_CONFIGS[name])
        return _made[name]


@overload
def client(
    service: Literal["cloudwatch"], region: str | None = None, config: Config | None = None
) -> CloudWatchClient: ...


@overload
def client(
    service: Literal["dynamodb"], region: str | None = None, config: Config | None = None
) -> DynamoDBClient: ...


@overload
def client(service: Literal["iam"], region: str | None = None, config: Config | None = None) -> IAMClient: ...


@overload
def client(
    service: Literal["lambda"], region: str | None = None, config: Config | None = None
) -> LambdaClient: ...


@overload
def client(
    service: Literal["logs"], region: str | None = None, config: Config | None = None
) -> CloudWatchLogsClient: ...


@overload
def client(service: Literal["s3"], region: str | None = None, config: Config | None = None) -> S3Client: ...


@overload
def client(
    service: Literal["secretsmanager"], region: str | None = None, config: Config | None = None
) -> SecretsManagerClient: ...


@overload
def client(
    service: Literal["service-quotas"], region: str | None = None, config: Config | None = None
) -> ServiceQuotasClient: ...


@overload
def client(service: Literal["sns"], region: str | None = None, config: Config | None = None) -> SNSClient: ...


@overload
def client(service: Literal["sqs"], region: str | None = None, config: Config | None = None) -> SQSClient: ...


@overload
def client(service: Literal["sts"], region: str | None = None, config: Config | None = None) -> STSClient: ...


@overload
def client(service: str, region: str | None = None, config: Config | None = None) -> Any: ...


def client(service: str, region: str | None = None, config: Config | None = None) -> Any:
    """Return the process-wide client for ``service``, creating it on first use.

    ``config``: a botocore ``Config`` other than :data:`CLIENT_CONFIG` (the receiver's short timeouts);
    one client is cached per (service, region, config object), so pass a module-level constant.
    """
    config = config or __getattr__("CLIENT_CONFIG")
    key = (service, region, config)  # Config hashes by identity; the key keeps it alive
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            import boto3.session  # here, not at import: a handler that makes no boto3 client never loads it

            session = boto3.session.Session()
            make: Callable[..., Any] = session.client  # one cache for every service: typed by the overloads
            _clients[key] = make(service, region_name=region, config=config)
        return _clients[key]


def reset_clients() -> None:
    """Forget cached clients (tests and the local stack call this after changing endpoints)."""
    with _lock:
        _clients.clear()


@dataclass
class Clients:
    overrides: dict[str, Any] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    config: Config | None = None
    """The botocore config of the clients not overridden (default :data:`CLIENT_CONFIG`)."""

    def get(self, service: str) -> Any:
        return self.overrides.get(service) or client(service, config=self.config)

    @property
    def sqs(self) -> SQSClient:
        return cast("SQSClient", self.get("sqs"))

    @property
    def iam(self) -> IAMClient:
        return cast("IAMClient", self.get("iam"))

    @property
    def lambda_(self) -> LambdaClient:
        return cast("LambdaClient", self.get("lambda"))

    @property
    def logs(self) -> CloudWatchLogsClient:
        return cast("CloudWatchLogsClient", self.get("logs"))

    @property
    def cloudwatch(self) -> CloudWatchClient:
        return cast("CloudWatchClient", self.get("cloudwatch"))

    @property
    def secretsmanager(self) -> SecretsManagerClient:
        return cast("SecretsManagerClient", self.get("secretsmanager"))

    @property
    def dynamodb(self) -> DynamoDBClient:
        return cast("DynamoDBClient", self.get("dynamodb"))

    @property
    def s3(self) -> S3Client:
        return cast("S3Client", self.get("s3"))

    @property
    def sns(self) -> SNSClient:
        return cast("SNSClient", self.get("sns"))
