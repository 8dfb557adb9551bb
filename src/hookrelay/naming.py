"""Names of every AWS resource hookrelay creates, in one place.

Everything a partner owns is named ``hookrelay-<stage>-<partner>`` (plus a suffix), so operators can
find it by prefix as well as by tag, and alarm-to-slack can tell which partner an alarm is about.
Partner ids are at most 32 characters and stages at most 8, which keeps every name within AWS limits
(function names 64, queue names 80, role names 64).
"""

from __future__ import annotations

import re

PROJECT = "hookrelay"
ALARM_KINDS = ("oldest-message-age", "dlq-depth", "lambda-errors")

SUFFIXES = ("dlq", "handler", *ALARM_KINDS)
_PARTNER_RESOURCE = re.compile(
    r"^hookrelay-(?P<stage>[a-z0-9]{1,8})-(?P<partner>[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?)$"
)
SHARED_NAMES: tuple[str, ...] = (
    *("results", "partners", "deliveries", "alarms", "artifacts", "rollouts", "alarm-failures"),
    *("messages", "replays"),  # the message store and replay (provisioning.messages)
    *("events", "subscriptions"),  # the events feed and the subscription index (provisioning.events)
)
# What belongs to every partner of a stage (its shared handler role, its alarms) is named as if owned by
# the reserved partner id "partners": partner_from_name reads no partner from those names.
EVERY_PARTNER = "partners"


def check_partner_id(partner_id: str) -> str:
    """Refuse ids that would make resource names ambiguous (ending like a suffix, or shared names)."""
    if partner_id in SHARED_NAMES or any(partner_id.endswith("-" + s) for s in SUFFIXES):
        raise ValueError(f"partner id {partner_id!r} is reserved or ends with a reserved suffix")
    return partner_id


def prefix(stage: str) -> str:
    return f"{PROJECT}-{stage}"


def partner_queue(stage: str, partner_id: str) -> str:
    return f"{prefix(stage)}-{partner_id}"


def partner_dead_letter_queue(stage: str, partner_id: str) -> str:
    return f"{prefix(stage)}-{partner_id}-dlq"


def partner_function(stage: str, partner_id: str) -> str:
    return f"{prefix(stage)}-{partner_id}"


def partner_role(stage: str, partner_id: str) -> str:
    return f"{prefix(stage)}-{partner_id}-handler"


def shared_handler_role(stage: str) -> str:
    """The stage's one handler role (``handler_role=shared``): named like the reserved partner "partners"."""
    return partner_role(stage, EVERY_PARTNER)


def partner_log_group(stage: str, partner_id: str) -> str:
    return f"/aws/lambda/{partner_function(stage, partner_id)}"


def partner_secret(stage: str, partner_id: str) -> str:
    return f"{PROJECT}/{stage}/{partner_id}/signing"


def partner_alarm(stage: str, partner_id: str, kind: str) -> str:
    if kind not in ALARM_KINDS:
        raise ValueError(f"unknown alarm kind {kind!r}")
    return f"{prefix(stage)}-{partner_id}-{kind}"


def stage_alarm(stage: str, kind: str) -> str:
    """A stage-wide alarm over every partner (named like the reserved partner "partners", so no partner's)."""
    return partner_alarm(stage, EVERY_PARTNER, kind)


def results_queue(stage: str) -> str:
    return f"{prefix(stage)}-results"


def results_dead_letter_queue(stage: str) -> str:
    """Attempt records the recorder could not write after ``maxReceiveCount`` receives."""
    return f"{results_queue(stage)}-dlq"


def results_dlq_alarm(stage: str) -> str:
    """The stage alarm on the results DLQ's depth (kind ``dlq-depth``; partner_from_name reads none)."""
    return f"{results_dead_letter_queue(stage)}-depth"


def alarm_failures_queue(stage: str) -> str:
    """alarm-to-slack's on-failure destination: alarms Lambda dropped after its async retries."""
    return f"{prefix(stage)}-alarm-failures"


def alarm_failures_alarm(stage: str) -> str:
    """The alarm on the alarm-failures queue's depth (kind ``dlq-depth``: alarm-to-slack's DLQ)."""
    return f"{alarm_failures_queue(stage)}-dlq-depth"


def partners_table(stage: str) -> str:
    return f"{prefix(stage)}-partners"


def deliveries_table(stage: str) -> str:
    return f"{prefix(stage)}-deliveries"


def rollouts_table(stage: str) -> str:
    """update-code's rollouts: one header item per rollout plus one result item per partner."""
    return f"{prefix(stage)}-rollouts"


def rollout_queue(stage: str) -> str:
    """update-code's work queue: chunks of partners for the provisioner's rollout worker."""
    return f"{prefix(stage)}-rollouts"


def messages_table(stage: str) -> str:
    """The message store: every webhook's envelope, kept ``messages_ttl_days`` for resend and replay."""
    return f"{prefix(stage)}-messages"


def replays_table(stage: str) -> str:
    """Replays: one item per replay (its range, cursor and progress), keyed by partner and replay id."""
    return f"{prefix(stage)}-replays"


def replay_queue(stage: str) -> str:
    """The replay worker's queue: one message per chunk of a replay (the next one sent with a delay)."""
    return f"{prefix(stage)}-replays"


def alarm_topic(stage: str) -> str:
    return f"{prefix(stage)}-alarms"


def artifact_bucket(stage: str) -> str:
    """Where handler code artifacts live (S3 names are global: the provisioner settings can override it)."""
    return f"{prefix(stage)}-artifacts"


HANDLER_ARTIFACT_POINTER = "handler/latest.json"


def handler_artifact_key(sha256_hex: str) -> str:
    """The key of one handler package (content-addressed, so a key never changes meaning)."""
    return f"handler/{sha256_hex}.zip"


def handler_layer_key(sha256_hex: str) -> str:
    """The key of one handler dependency layer zip (``python/...``), content-addressed like the code."""
    return f"handler/layers/{sha256_hex}.zip"


def handler_manifest_key(code_key: str) -> str:
    """The pair (code zip, layer zip) a code zip was uploaded with: what a rollback to it points at."""
    return code_key.removesuffix(".zip") + ".json"


def handler_layer(stage: str) -> str:
    """The Lambda layer every partner function of the stage shares (the handler's dependencies)."""
    return f"{prefix(stage)}-handler-deps"


def partner_from_name(name: str) -> str | None:
    """The partner id in a hookrelay resource or alarm name, or None if it is not a partner's."""
    name = name.removesuffix(".fifo")  # an ordered partner's queues (partners.ordering)
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith("-" + suffix):
            name = name.removesuffix("-" + suffix)
            break
    match = _PARTNER_RESOURCE.match(name)
    if match is None or match.group("partner") in SHARED_NAMES:
        return None
    return match.group("partner")


def console_secret(stage: str) -> str:
    """The operator console's token (Secrets Manager): exchanged at /console/login for a session cookie;
    the keys that sign sessions, CSRF tokens and partner portal links derive from it. No partner's
    secret is named like it (theirs end in ``/signing``)."""
    return f"{PROJECT}/{stage}/console"


def events_queue(stage: str) -> str:
    """The stage-wide feed of published events (``POST /events``): the router fans each one out."""
    return f"{prefix(stage)}-events"


def events_dead_letter_queue(stage: str) -> str:
    """Events the router could not fan out after ``maxReceiveCount`` receives."""
    return f"{events_queue(stage)}-dlq"


def events_dlq_alarm(stage: str) -> str:
    """The stage alarm on the events DLQ's depth (kind ``dlq-depth``; partner_from_name reads none)."""
    return f"{events_dead_letter_queue(stage)}-depth"


def events_fifo_queue(stage: str) -> str:
    """The stage-wide FIFO feed of events published with an ``ordering_key`` (group = the key): the
    router takes a key's events in publish order (docs/ordering.md)."""
    return f"{events_queue(stage)}.fifo"


def events_fifo_dead_letter_queue(stage: str) -> str:
    """The FIFO events queue's dead-letter queue (a FIFO queue's DLQ must be FIFO)."""
    return f"{events_dead_letter_queue(stage)}.fifo"


def events_fifo_dlq_alarm(stage: str) -> str:
    """The stage alarm on the FIFO events DLQ's depth (partner_from_name reads none: the dot)."""
    return f"{events_fifo_dead_letter_queue(stage)}-depth"


def events_table(stage: str) -> str:
    """Idempotency records of published event ids (TTL: the dedup window)."""
    return f"{prefix(stage)}-events"


def subscriptions_table(stage: str) -> str:
    """The subscription index: pk = event-type pattern, sk = partner id (the router's one Query each)."""
    return f"{prefix(stage)}-subscriptions"
