"""Where a receiver's signing secrets come from: an environment variable or Secrets Manager.

Either source may hold several secrets, so a partner keeps accepting webhooks while hookrelay rotates
its secret (it signs with old and new at once). A value is any of:

- one ``whsec_...`` secret, or several separated by commas or whitespace;
- a JSON list of them: ``["whsec_new", "whsec_old"]``;
- the JSON hookrelay itself stores (:class:`hookrelay.signing.keys.SigningKeys`): only the keys that are
  still active are accepted.

Secrets Manager is read at most once per cache TTL. No secret value ever appears in an error message.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from pydantic import ValidationError

from hookrelay.aws import clients as aws
from hookrelay.errors import DependencyUnavailable, NotFound
from hookrelay.signing.keys import CachedSigningKeys, SigningKey, SigningKeys
from hookrelay.signing.standard import WebhookVerificationError, secret_key

if TYPE_CHECKING:
    from types_boto3_secretsmanager import SecretsManagerClient


class SecretSource(Protocol):
    def secrets(self) -> list[str]:
        """The secrets a signature may match right now (never empty). Raises DependencyUnavailable."""
        ...


def parse_secrets(text: str) -> SigningKeys:
    """Any accepted secret value as keys. Raises ``ValueError`` that never quotes the value."""
    value = text.strip()
    try:
        if value.startswith("{"):
            keys = SigningKeys.model_validate_json(value)
        else:
            listed = json.loads(value) if value.startswith("[") else re.split(r"[\s,]+", value)
            if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
                raise ValueError("a JSON list of secrets must hold strings only")
            keys = SigningKeys(keys=[SigningKey(secret=s) for s in listed if s])
    except (ValidationError, json.JSONDecodeError):
        raise ValueError("secrets are not in an accepted form") from None
    for position, key in enumerate(keys.keys, start=1):
        try:
            secret_key(key.secret.get_secret_value())
        except WebhookVerificationError:
            raise ValueError(f"secret #{position} is not a whsec_ secret of 24 to 64 bytes") from None
    return keys


class StaticSecrets:
    """Secrets given once (from the environment); checked when built."""

    def __init__(self, text: str) -> None:
        self._keys = parse_secrets(text)

    def secrets(self) -> list[str]:
        return self._keys.active_secrets(datetime.now(UTC))


class ManagedSecrets(CachedSigningKeys):
    """Secrets read from Secrets Manager (in any accepted form), cached for ``ttl_seconds``.

    Built by :func:`hookrelay.receiving.receive.build_receiver` with the receiver's short-timeout client.
    """

    @property
    def client(self) -> SecretsManagerClient:
        return self._secretsmanager or aws.client("secretsmanager", config=aws.INTERACTIVE_CONFIG)

    def parse(self, text: str) -> SigningKeys:
        return parse_secrets(text)

    def secrets(self) -> list[str]:
        try:
            keys = self.get()
        except NotFound as exc:
            # For the sender this is our outage, not its mistake: answer retryable.
            raise DependencyUnavailable(exc.message) from exc
        return keys.active_secrets(datetime.now(UTC))
