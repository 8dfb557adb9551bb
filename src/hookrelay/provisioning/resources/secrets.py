"""A partner's signing secrets in Secrets Manager: create, rotate with a grace period, delete.

Rotation prepends a new key and gives every still-open key an ``expires_at`` of now + grace, so old
and new both sign until then; keys already expired are pruned on every write.

Every write makes a new Secrets Manager version (``AWSCURRENT`` moves to it). Its VersionId is the
partner's *key version*: the provisioner writes it into the handler's environment
(``HOOKRELAY_SIGNING_KEY_VERSION``), so a rotation changes the handler's configuration and the handlers
that run after it are fresh environments reading the new keys (see ``provisioning.changes``).
:func:`current_version` reads it back when an environment is rebuilt (an update, a re-run of create).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import SecretStr

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import NotFound
from hookrelay.provisioning.resources.calls import removed
from hookrelay.signing.keys import SigningKey, SigningKeys, read_signing_keys
from hookrelay.signing.standard import generate_secret

if TYPE_CHECKING:
    from types_boto3_secretsmanager.type_defs import TagTypeDef


@dataclass(frozen=True)
class StoredSecret:
    arn: str
    newest: SecretStr
    version: str | None = None  # the VersionId of AWSCURRENT: the partner's key version


@dataclass(frozen=True)
class RotatedSecret:
    secret: SecretStr  # the new key, answered once
    version: str  # the Secrets Manager version that holds it (and the keys still in their grace)


def _tags(tags: dict[str, str]) -> list[TagTypeDef]:
    """Secrets Manager's own Tag shape (Key and Value optional in its stub)."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def ensure_secret(name: str, tags: dict[str, str], now: datetime, clients: Clients) -> StoredSecret:
    """Create the secret with one fresh key, or return the existing one (a re-run of create)."""
    keys = SigningKeys(keys=[SigningKey(secret=SecretStr(generate_secret()), created_at=now)])
    try:
        created = clients.secretsmanager.create_secret(
            Name=name,
            SecretString=keys.to_secret_string(),
            Description="hookrelay partner signing keys",
            Tags=_tags(tags),
        )
        made = created.get("VersionId")
        return StoredSecret(arn=str(created["ARN"]), newest=keys.keys[0].secret, version=made)
    except AWS_ERRORS as exc:
        if not has_code(exc, "ResourceExistsException"):
            raise aws_error(f"create secret {name}", exc) from exc
    existing = read_signing_keys(name, clients.secretsmanager)
    arn, version = _describe(name, clients)
    return StoredSecret(arn=arn, newest=existing.keys[0].secret, version=version)


def _describe(name: str, clients: Clients) -> tuple[str, str | None]:
    """The secret's ARN and the VersionId labelled ``AWSCURRENT`` (one DescribeSecret)."""
    try:
        described = clients.secretsmanager.describe_secret(SecretId=name)
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            raise NotFound(f"secret {name} does not exist") from exc
        raise aws_error(f"describe secret {name}", exc) from exc
    stages = described.get("VersionIdsToStages", {})
    current = [version for version, labels in stages.items() if "AWSCURRENT" in labels]
    return str(described["ARN"]), current[0] if current else None


def secret_arn(name: str, clients: Clients) -> str:
    return _describe(name, clients)[0]


def current_version(name: str, clients: Clients) -> str | None:
    """The partner's key version (None: no secret, or none current): an environment's rebuild keeps it."""
    try:
        return _describe(name, clients)[1]
    except NotFound:
        return None


def rotated(keys: SigningKeys, new_secret: str, now: datetime, grace: timedelta) -> SigningKeys:
    """The keys after a rotation: the new one first; open keys retire at now + grace."""
    kept = keys.without_expired(now).keys
    retiring = [
        k.model_copy(update={"expires_at": min(k.expires_at or now + grace, now + grace)}) for k in kept
    ]
    return SigningKeys(keys=[SigningKey(secret=SecretStr(new_secret), created_at=now), *retiring])


def rotate_secret(name: str, now: datetime, grace: timedelta, clients: Clients) -> RotatedSecret:
    """Write a new key; old keys keep signing for ``grace``. Returns the new secret and its version.

    A read then a write: the caller holds the partner's rotation lease (``provisioning.lease``), or a
    concurrent rotation's key would be overwritten."""
    new_secret = generate_secret()
    keys = rotated(read_signing_keys(name, clients.secretsmanager), new_secret, now, grace)
    try:
        written = clients.secretsmanager.put_secret_value(SecretId=name, SecretString=keys.to_secret_string())
    except AWS_ERRORS as exc:
        raise aws_error(f"write secret {name}", exc) from exc
    return RotatedSecret(secret=SecretStr(new_secret), version=str(written["VersionId"]))


def delete_secret(name: str, clients: Clients) -> bool:
    """Delete at once (no recovery window), so a partner of the same id can be created again.

    A forced delete of a missing secret succeeds on AWS, so existence is checked first.
    """

    def delete() -> None:
        clients.secretsmanager.describe_secret(SecretId=name)
        clients.secretsmanager.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)

    return removed(f"delete secret {name}", delete, "ResourceNotFoundException")
