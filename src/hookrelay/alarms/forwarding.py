"""Forwarding one SNS alarm notification to Slack: parse, enrich, build, post.

A notification that is not a CloudWatch alarm we understand is still posted, as an "unparsed
notification" with its raw text, and logged. The partner comes from the notification (a partner's own
alarm, or a stage alarm's contributor); a stage alarm's own notification going to ALARM asks CloudWatch
which partners' series are in ALARM (:mod:`hookrelay.alarms.contributors`), best effort. A handler
Lambda error alarm of one partner going to ALARM carries the function's last error lines. Only a
failure to post (after the retries in :mod:`hookrelay.alarms.slack_post`) raises, so that SNS/Lambda
retry the invocation and nothing is dropped silently (past Lambda's retries, the on-failure queue
``hookrelay-<stage>-alarm-failures`` keeps it). The whole invocation runs against one deadline taken from
the Lambda context (:mod:`hookrelay.alarms.deadline`): the enrichment may be skipped, the post never
outlasts the function's timeout. A partner health notice (:mod:`hookrelay.health_notice`, published by the
provisioner on the same topic) is posted as its own message (:mod:`hookrelay.alarms.health_message`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from hookrelay import naming
from hookrelay.alarms.blocks import escape, truncate
from hookrelay.alarms.console import alarm_url, log_group_url
from hookrelay.alarms.contributors import partners_in_alarm
from hookrelay.alarms.deadline import Deadline, OutOfTime, within
from hookrelay.alarms.health_message import health_message
from hookrelay.alarms.logs import recent_error_lines, window
from hookrelay.alarms.notification import AlarmNotification, AlarmState, parse_notification
from hookrelay.alarms.settings import AlarmToSlackSettings, WebhookUrl
from hookrelay.alarms.slack_message import LogExcerpt, alarm_message, unparsed_message
from hookrelay.alarms.slack_post import SlackRejected, build_session, post_message
from hookrelay.aws import clients as aws
from hookrelay.errors import DependencyUnavailable, InvalidInput
from hookrelay.health_notice import parse_health_notice

if TYPE_CHECKING:
    from types_boto3_cloudwatch import CloudWatchClient
    from types_boto3_logs import CloudWatchLogsClient
    from types_boto3_secretsmanager import SecretsManagerClient

logger = logging.getLogger(__name__)
RAW_LOG_CHARS = 4000


@dataclass
class AlarmDeps:
    """What forwarding needs, built once per container; tests inject their own clients."""

    settings: AlarmToSlackSettings
    webhook: WebhookUrl
    session: requests.Session = field(default_factory=build_session)
    logs: CloudWatchLogsClient | None = None  # default: a client for the alarm's region
    cloudwatch: CloudWatchClient | None = None  # likewise


def build_deps(
    settings: AlarmToSlackSettings, secretsmanager: SecretsManagerClient | None = None
) -> AlarmDeps:
    """The webhook secret is read with short timeouts (``INTERACTIVE_CONFIG``): it is on the post's clock."""
    secrets = secretsmanager or aws.client("secretsmanager", config=aws.INTERACTIVE_CONFIG)
    return AlarmDeps(settings=settings, webhook=WebhookUrl(settings, secrets))


@dataclass(frozen=True)
class Forwarded:
    attempts: int
    alarm_name: str | None = None
    state: str | None = None
    partner_id: str | None = None
    parsed: bool = True
    partners: tuple[str, ...] = ()


def forward_notification(
    message: str, deps: AlarmDeps, subject: str | None = None, deadline: Deadline | None = None
) -> Forwarded:
    """Post one SNS message to Slack. Raises DependencyUnavailable if Slack would not take it.

    ``deadline`` (the invocation's, :mod:`hookrelay.alarms.deadline`; default 60 s from now) bounds it
    all: the enrichment gets its share or is skipped, the post what remains.
    """
    deadline = deadline or Deadline.from_context(None)
    notice = parse_health_notice(message)
    if notice is not None:  # a partner health notice (the provisioner's), not a CloudWatch alarm
        attempts = _post(health_message(notice), deps, deadline)
        logger.info(
            "health notice forwarded",
            extra={"partner_id": notice.partner_id, "kind": notice.kind.value, "attempts": attempts},
        )
        return Forwarded(attempts, None, notice.kind.value, notice.partner_id, partners=(notice.partner_id,))
    try:
        alarm = parse_notification(message)
    except InvalidInput as exc:
        logger.warning(
            "unparsed notification",
            extra={"reason": exc.message, "subject": subject, "raw": message[:RAW_LOG_CHARS]},
        )
        attempts = _post(unparsed_message(message, exc.message, subject), deps, deadline)
        return Forwarded(attempts=attempts, parsed=False)
    enrichment = deadline.enrichment()
    partners = alarm_partners(alarm, deps, enrichment)
    partner = partners[0] if len(partners) == 1 else None
    logs = error_log_excerpt(alarm, deps, partner, enrichment)
    payload = alarm_message(alarm, alarm_url=alarm_url(alarm), logs=logs, partners=partners)
    attempts = _post(payload, deps, deadline)
    logger.info(
        "alarm forwarded",
        extra={
            "alarm_name": alarm.alarm_name,
            "state": str(alarm.new_state),
            "shape": str(alarm.shape),
            "partner_id": partner,
            "partners": partners,
            "attempts": attempts,
        },
    )
    return Forwarded(attempts, alarm.alarm_name, str(alarm.new_state), partner, partners=tuple(partners))


def alarm_partners(alarm: AlarmNotification, deps: AlarmDeps, deadline: Deadline) -> list[str]:
    """The partners the alarm is about: the notification's, else (a stage alarm to ALARM) CloudWatch's."""
    if alarm.partner_id is not None:
        return [alarm.partner_id]
    if not alarm.is_stage_alarm or alarm.new_state is not AlarmState.ALARM:
        return []
    cloudwatch = deps.cloudwatch or aws.client("cloudwatch", alarm.region, config=aws.INTERACTIVE_CONFIG)
    try:
        return within(deadline, "contributors", lambda: partners_in_alarm(alarm.alarm_name, cloudwatch))
    except DependencyUnavailable as exc:
        logger.warning(
            "cannot list the alarm's contributors", extra={"alarm": alarm.alarm_name, "error": exc.message}
        )
        return []


def error_log_excerpt(
    alarm: AlarmNotification, deps: AlarmDeps, partner: str | None, deadline: Deadline
) -> LogExcerpt | None:
    """The partner function's recent error lines, for its lambda-errors alarm going to ALARM."""
    lines = deps.settings.error_log_lines
    if (
        alarm.kind != "lambda-errors"
        or partner is None
        or alarm.new_state is not AlarmState.ALARM
        or not lines
    ):
        return None
    log_group = naming.partner_log_group(deps.settings.stage, partner)
    url = log_group_url(alarm.region, log_group, alarm.partition) if alarm.region else None
    start, end = window(alarm)
    client = deps.logs or aws.client("logs", alarm.region, config=aws.INTERACTIVE_CONFIG)
    pages = deps.settings.error_log_pages
    try:
        found = within(
            deadline,
            "logs",
            lambda: recent_error_lines(log_group, start, end, max_lines=lines, max_pages=pages, logs=client),
        )
    except OutOfTime as exc:
        logger.warning("error lines skipped", extra={"log_group": log_group, "reason": exc.message})
        return LogExcerpt(log_group=log_group, url=url, skipped=exc.message)
    except DependencyUnavailable as exc:
        logger.warning("cannot read error lines", extra={"log_group": log_group, "error": exc.message})
        return LogExcerpt(log_group=log_group, url=url, error=exc.message)
    return LogExcerpt(log_group=log_group, lines=found, url=url)


def _post(payload: dict[str, Any], deps: AlarmDeps, deadline: Deadline) -> int:
    try:
        return _post_once(payload, deps, deadline)
    except SlackRejected as exc:
        if exc.status != 400:
            deps.webhook.forget()  # 403/404/410: the URL may have been rotated or revoked
            raise
        logger.error(
            "slack rejected the blocks, posting plain text", extra={"status": exc.status, "body": exc.body}
        )
        refused = exc.body
    text = truncate(f"{payload['text']}\n(Slack refused the full message: {escape(refused, 2000)})", 3000)
    return _post_once({"text": text}, deps, deadline)


def _post_once(payload: dict[str, Any], deps: AlarmDeps, deadline: Deadline) -> int:
    return post_message(
        deps.webhook.get(),
        payload,
        policy=deps.settings.slack_policy,
        session=deps.session,
        clock=deadline.clock,
        until=deadline.at,
    )
