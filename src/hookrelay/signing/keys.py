"""A partner's signing secrets, as stored in Secrets Manager, and a cached reader for them.

The secret value is JSON: ``{"keys": [{"secret": "whsec_...", "created_at": ..., "expires_at": ...}]}``,
newest first. While a secret is being rotated the old key carries an ``expires_at`` and both sign;
after it, only the new one does. The values are ``SecretStr``: they never print or log.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hookrelay.aws.secrets import CachedSecret, read_secret
from hookrelay.models import UtcDatetime, utcnow

if TYPE_CHECKING:
    from types_boto3_secretsmanager import SecretsManagerClient


class SigningKey(BaseModel):
    model_config = ConfigDict(extra="ignore")

    secret: SecretStr
    created_at: UtcDatetime = Field(default_factory=utcnow)
    expires_at: UtcDatetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


class SigningKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    keys: list[SigningKey] = Field(min_length=1)

    def active_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign right now, newest first (never empty: the newest always signs)."""
        active = [k.secret.get_secret_value() for k in self.keys if k.active(now)]
        return active or [self.keys[0].secret.get_secret_value()]

    def to_secret_string(self) -> str:
        return _dump_with_secrets(self)

    def without_expired(self, now: datetime) -> SigningKeys:
        kept = [k for k in self.keys if k.active(now)] or self.keys[:1]
        return SigningKeys(keys=kept)


def _dump_with_secrets(keys: SigningKeys) -> str:
    return json.dumps(
        {
            "keys": [
                {
                    "secret": k.secret.get_secret_value(),
                    "created_at": k.created_at.isoformat(),
                    "expires_at": k.expires_at.isoformat() if k.expires_at else None,
                }
                for k in keys.keys
            ]
        }
    )


def read_signing_keys(secret_id: str, secretsmanager: SecretsManagerClient | None = None) -> SigningKeys:
    """Fetch and parse a partner's keys. Raises NotFound or DependencyUnavailable (never quoting them)."""
    return read_secret(secret_id, CachedSigningKeys.what, SigningKeys.model_validate_json, secretsmanager)


class CachedSigningKeys(CachedSecret[SigningKeys]):
    """Reads a partner's keys at most once per ``ttl_seconds``.

    A rotation does not wait for the TTL: it also changes the handler's configuration (the secret's
    new version, ``HandlerSettings.signing_key_version``), so the handlers invoked after it are new
    Lambda environments, each with a new, empty reader (``provisioning.changes.rotate_partner_secret``).
    The TTL bounds only a change made to the secret by other means (an operator's hand)."""

    what = "signing secret"

    def parse(self, text: str) -> SigningKeys:
        return SigningKeys.model_validate_json(text)
