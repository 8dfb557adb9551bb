"""The AWS JSON protocol over urllib3, SigV4-signed: the caller under :mod:`hookrelay.aws.wire`.

Why: the handler makes one SendMessageBatch per batch (its attempt records), a send per retried or
dead-lettered record and a secret read per container. Through a botocore client a SendMessageBatch of ten
costs ~700 us of CPU here against a keep-alive endpoint, most of it per-call machinery the handler does not
need (the user agent built twice, parameter validation, a dozen event hooks, the model-driven parser);
this path costs ~300 us (botocore's SigV4 signer ~70 us of it).

It is the AWS API, not a shortcut around it: ``POST /`` with ``X-Amz-Target: <prefix>.<Operation>`` and a
JSON body (SQS: ``application/x-amz-json-1.0``, ``AmazonSQS``, query-compatible; Secrets Manager:
``application/x-amz-json-1.1``, ``secretsmanager``), signed with Signature Version 4 as botocore's
``SigV4Auth`` signs (:mod:`hookrelay.aws.sigv4`, stdlib, so a cold start imports neither ``botocore.auth``
nor ``botocore.credentials``), with Lambda's credentials from the environment when they do not expire,
else with botocore's resolver's (frozen per call: refreshable ones refresh). The
endpoint is ``AWS_ENDPOINT_URL_<SERVICE>``, else ``AWS_ENDPOINT_URL``, else the regional default (no
shared-config-file endpoints), so the same code talks to moto, LocalStack or AWS.

As botocore's clients made by :mod:`hookrelay.aws.clients` (``CLIENT_CONFIG``): 5 s connect and 30 s
read timeouts; standard-mode retries, 6 attempts in all (its ``max_attempts=5`` counts the retries), for
throttling codes (and 429), the transient codes, 500/502/503/504 and connection errors, with botocore's
jittered backoff (``rand() * min(scale * 2**i, 20 s)``, scale 1 s when throttled, 50 ms otherwise,
raised to ``x-amz-retry-after``). No retry quota.
Answers are botocore's shape (blobs as bytes, timestamps as datetimes, ``ResponseMetadata``); errors are
botocore's ``ClientError`` with the ``Error.Code`` botocore's parser gives (the query-compatible
``x-amzn-query-error`` code first), or the botocore exception for a timeout or a connection error, so
:func:`hookrelay.aws.errors.aws_error` and every caller behave the same. Nothing here logs, and no error
quotes a request (a body, a credential); AWS's own messages never quote secret values.

Not botocore in these: no client-side parameter validation (AWS refuses what botocore would have), no
modeled exception classes (``client.exceptions.QueueDoesNotExist``: catch ``ClientError`` and read its
code, as :mod:`hookrelay.aws.errors` does), no retry quota, members AWS adds that botocore's model lacks
pass through. Inside Lambda, X-Ray's ``httplib`` patch (the handler's ``configure_tracing``) traces these
calls as HTTP calls to the service's endpoint, where the ``botocore`` patch named the operation.
"""

from __future__ import annotations

import base64
import json
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import urllib3
from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
)

from hookrelay.aws.endpoints import host_header, tls_options
from hookrelay.aws.json_answers import (
    THROTTLED_CODES,
    TRANSIENT_CODES,
    TRANSIENT_STATUS,
    error_response,
    json_object,
    metadata,
    network_error,
)
from hookrelay.aws.sigv4 import FrozenCredentials, environment_credentials, sign_post

if TYPE_CHECKING:
    from botocore.credentials import Credentials

    from hookrelay.aws.sigv4 import StaticCredentials

CONNECT_TIMEOUT_S = 5.0  # as aws.clients.CLIENT_CONFIG (tests/unit/test_aws_wire.py checks they agree)
READ_TIMEOUT_S = 30.0
MAX_ATTEMPTS = 6  # CLIENT_CONFIG's max_attempts=5 counts retries: botocore makes 1 + 5 attempts
POOL_SIZE = 50
MAX_BACKOFF_S = 20.0
USER_AGENT = "hookrelay-wire/1"


@dataclass(frozen=True)
class Protocol:
    """How one service speaks JSON: content type, target prefix, signing name, endpoint variable."""

    content_type: str
    target_prefix: str
    signing_name: str
    env_name: str  # AWS_ENDPOINT_URL_<env_name>
    query_compatible: bool = False


SQS = Protocol("application/x-amz-json-1.0", "AmazonSQS", "sqs", "SQS", query_compatible=True)
SECRETS_MANAGER = Protocol(
    "application/x-amz-json-1.1", "secretsmanager", "secretsmanager", "SECRETS_MANAGER"
)


class WireClient:
    """One service's JSON-protocol caller over one pool of keep-alive connections (thread-safe)."""

    protocol: Protocol = SQS

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        credentials: Credentials | StaticCredentials | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        max_attempts: int = MAX_ATTEMPTS,
        pool_size: int = POOL_SIZE,
    ) -> None:
        self.url = endpoint_url.rstrip("/") + "/"
        self.meta = SimpleNamespace(endpoint_url=endpoint_url, region_name=region)
        self._credentials = credentials
        self._region = region
        self._sleep, self._rand, self._max_attempts = sleep, rand, max_attempts
        # One endpoint, so one pool (no PoolManager lookup per call); the Host header is set here, as
        # botocore's signer would derive it from the URL, so no call parses the URL again.
        self._http = urllib3.connection_from_url(
            self.url, maxsize=pool_size, retries=False, **tls_options(self.url)
        )
        self._path = urlsplit(self.url).path
        self._host = host_header(self.url)
        self._timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S)
        self._lock = threading.Lock()

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """``operation`` with botocore's keyword arguments; the answer as botocore's parser shapes it."""
        body = json.dumps(params, default=_blob, separators=(",", ":")).encode()
        headers = {
            "Host": self._host,
            "Content-Type": self.protocol.content_type,
            "X-Amz-Target": f"{self.protocol.target_prefix}.{operation}",
            "User-Agent": USER_AGENT,
        }
        if self.protocol.query_compatible:
            headers["x-amzn-query-mode"] = "true"
        for attempt in range(1, self._max_attempts + 1):
            last = attempt == self._max_attempts
            try:
                response = self._http.urlopen(
                    "POST",
                    self._path,
                    body=body,
                    headers=self._signed(body, headers),
                    timeout=self._timeout,
                    retries=False,
                    redirect=False,
                )
            except urllib3.exceptions.HTTPError as exc:
                if last:
                    raise network_error(exc, self.meta.endpoint_url) from None
                self._sleep(self._backoff(attempt, throttled=False, retry_after=None))
                continue
            if response.status < 300:
                return {**json_object(response.data), "ResponseMetadata": metadata(response, attempt)}
            error = error_response(response, attempt)
            code = error["Error"]["Code"]
            throttled = code in THROTTLED_CODES or response.status == 429
            if last or not (throttled or code in TRANSIENT_CODES or response.status in TRANSIENT_STATUS):
                if last:
                    error["ResponseMetadata"]["MaxAttemptsReached"] = True
                raise ClientError(error, operation)  # type: ignore[arg-type]
            self._sleep(self._backoff(attempt, throttled, response.headers.get("x-amz-retry-after")))
        raise AssertionError("unreachable")  # pragma: no cover - the last attempt returns or raises

    def _signed(self, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        credentials = self._frozen_credentials()
        return sign_post(self._path, headers, body, credentials, self.protocol.signing_name, self._region)

    def _frozen_credentials(self) -> FrozenCredentials:
        """This call's credentials (a refreshable set refreshes here). Found on first use: Lambda's, from
        the environment, when they carry no expiry (:func:`~hookrelay.aws.sigv4.environment_credentials`);
        else botocore's resolver's, as botocore's chain has it: its environment provider first (a botocore
        session costs a cold start ~15-30 ms more), else the whole chain."""
        if self._credentials is None:
            with self._lock:
                if self._credentials is None:
                    self._credentials = environment_credentials(os.environ) or _resolved_credentials()
        if self._credentials is None:
            raise NoCredentialsError()
        frozen: FrozenCredentials = self._credentials.get_frozen_credentials()
        return frozen

    def _backoff(self, attempt: int, throttled: bool, retry_after: str | None) -> float:
        """botocore standard mode's delay before attempt ``attempt + 1``."""
        delay = self._rand() * min((1.0 if throttled else 0.05) * 2.0 ** (attempt - 1), MAX_BACKOFF_S)
        try:
            asked = int(retry_after) / 1000 if retry_after is not None else None
        except ValueError:
            asked = None
        return delay if asked is None else max(delay, min(asked, delay + 5))


def _resolved_credentials() -> Credentials | None:
    """botocore's: its environment provider (refreshable credentials, a partial pair's error), else its
    whole chain from a session."""
    from botocore.credentials import EnvProvider

    found: Credentials | None = EnvProvider().load()
    if found is None:
        import botocore.session

        found = botocore.session.Session().get_credentials()
    return found


def _blob(value: object) -> str:
    """A blob parameter (bytes) goes as base64, as botocore's JSON serializer sends it."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot send a {type(value).__name__} parameter")


def endpoint_url(protocol: Protocol, region: str) -> str:
    """``AWS_ENDPOINT_URL_<SERVICE>``, else ``AWS_ENDPOINT_URL``, else the service's regional endpoint."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        service = os.environ.get(f"AWS_ENDPOINT_URL_{protocol.env_name}")
        configured = service or os.environ.get("AWS_ENDPOINT_URL")
        if configured:
            return configured
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{protocol.signing_name}.{region}.{suffix}"
