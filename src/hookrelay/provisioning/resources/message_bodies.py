"""The message store's big envelopes in S3 (``messages/<partner>/<id>.json`` in the artifact bucket) expire
like the items that point at them: one lifecycle rule, ``hookrelay-messages-expiry``, deletes them a day
after the store's retention (``HOOKRELAY_MESSAGES_TTL_DAYS``; DynamoDB's TTL may lag, a body must not go
first). The bucket's other lifecycle rules (an operator's own) are kept: the rule is merged in, by id."""

from __future__ import annotations

from typing import Any

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code

RULE_ID = "hookrelay-messages-expiry"
PREFIX = "messages/"


def expiry_rule(ttl_days: int) -> dict[str, Any]:
    return {
        "ID": RULE_ID,
        "Filter": {"Prefix": PREFIX},
        "Status": "Enabled",
        "Expiration": {"Days": ttl_days + 1},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }


def merged_rules(existing: list[dict[str, Any]], ttl_days: int) -> list[dict[str, Any]]:
    """``existing`` with the store's rule in place of any older one of the same id."""
    return [*(rule for rule in existing if rule.get("ID") != RULE_ID), expiry_rule(ttl_days)]


def ensure_message_body_expiry(bucket: str, ttl_days: int, clients: Clients) -> None:
    """Put the expiry rule on ``bucket`` unless it is there as wanted (one read, at most one write)."""
    try:
        try:
            existing = clients.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        except AWS_ERRORS as exc:
            if not has_code(exc, "NoSuchLifecycleConfiguration"):
                raise
            existing = []
        rules = [dict(rule) for rule in existing]
        if expiry_rule(ttl_days) in rules:
            return
        clients.s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": merged_rules(rules, ttl_days)},  # type: ignore[typeddict-item]
        )
    except AWS_ERRORS as exc:
        raise aws_error(f"set the message bodies' expiry on s3://{bucket}", exc) from exc
