"""The stage's operator console token (docs/console.md): a Secrets Manager secret made once, with the shared
resources, so a deployed stage's console has a login from its first deploy (`make run` prints the local one).
Its value is read back with ``aws secretsmanager get-secret-value --secret-id hookrelay/<stage>/console``;
replacing it logs every operator out and voids every portal link."""

from __future__ import annotations

import secrets

from hookrelay import naming
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code


def ensure_console_secret(stage: str, clients: Clients) -> str:
    """The console token: the stored one, or a new random one (32 bytes, URL-safe) stored first."""
    name = naming.console_secret(stage)
    try:
        try:
            return str(clients.secretsmanager.get_secret_value(SecretId=name)["SecretString"])
        except AWS_ERRORS as exc:
            if not has_code(exc, "ResourceNotFoundException"):
                raise
        token = secrets.token_urlsafe(32)
        clients.secretsmanager.create_secret(
            Name=name,
            SecretString=token,
            Description="hookrelay operator console token (docs/console.md)",
            Tags=[{"Key": "project", "Value": naming.PROJECT}, {"Key": "environment", "Value": stage}],
        )
        return token
    except AWS_ERRORS as exc:
        raise aws_error(f"create the console token {name}", exc) from exc
