"""Reading a secret from Secrets Manager: the one reader every wing uses, and its cached form.

:func:`read_secret` fetches a secret and hands its string to a ``parse`` function; a secret that does
not exist is :class:`NotFound`, any other AWS failure the domain error of
:func:`hookrelay.aws.errors.aws_error`, and a value ``parse`` refuses is DependencyUnavailable. No error
ever quotes the value: a parse failure is raised ``from None``, because a pydantic ValidationError
quotes its input and would otherwise ride along on the chain (and into any logged traceback).

:class:`CachedSecret` reads at most once per ``ttl_seconds`` (so a rotation lands within the TTL) and
keeps serving the last good value through a failed refresh (see :class:`hookrelay.caching.TtlCache`).
A subclass names what it holds (``what``) and how to read it (``parse``): the partner signing keys
(:class:`hookrelay.signing.keys.CachedSigningKeys`), the receiver's secrets, the Slack webhook URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar

from pydantic import ValidationError

from hookrelay.aws import clients as aws
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.caching import TtlCache
from hookrelay.errors import DependencyUnavailable

if TYPE_CHECKING:
    from types_boto3_secretsmanager import SecretsManagerClient

T = TypeVar("T")


def read_secret(
    secret_id: str,
    what: str,
    parse: Callable[[str], T],
    secretsmanager: SecretsManagerClient | None = None,
) -> T:
    """The secret ``secret_id`` (a ``what``: "signing secret"), parsed. See the module docstring."""
    client = secretsmanager or aws.client("secretsmanager")
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except AWS_ERRORS as exc:
        raise aws_error(
            f"read {what} {secret_id}", exc, missing=f"{what} {secret_id} does not exist"
        ) from exc
    if "SecretString" not in response:  # a binary secret
        raise DependencyUnavailable(f"{what} {secret_id} has no SecretString")
    try:
        return parse(response["SecretString"])
    except (ValidationError, ValueError, KeyError, TypeError) as exc:
        # Our own parsers say what is wrong without quoting (a ValueError's text); pydantic's does not.
        reason = "" if isinstance(exc, ValidationError) or type(exc) is not ValueError else f": {exc}"
        raise DependencyUnavailable(f"{what} {secret_id} is not in the expected form{reason}") from None


class CachedSecret(TtlCache[T]):
    """A secret read through :func:`read_secret` at most once per ``ttl_seconds``."""

    what: ClassVar[str] = "secret"

    def parse(self, text: str) -> T:
        raise NotImplementedError

    def __init__(
        self,
        secret_id: str,
        ttl_seconds: float = 300,
        secretsmanager: SecretsManagerClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secret_id = secret_id
        self._secretsmanager = secretsmanager
        super().__init__(
            lambda: read_secret(secret_id, self.what, self.parse, self.client), ttl_seconds, clock
        )

    @property
    def client(self) -> SecretsManagerClient:
        return self._secretsmanager or aws.client("secretsmanager")
