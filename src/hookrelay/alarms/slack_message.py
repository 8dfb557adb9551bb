"""Slack messages for alarms, built from slack-sdk's Block Kit models (so they are valid by construction).

A message is a fallback ``text`` (what notifications show) and one attachment whose colour bar tells
the state (ALARM red, OK green, INSUFFICIENT_DATA grey) and whose blocks hold the facts. Every text is
escaped for mrkdwn and cut to Slack's limits; slack-sdk's ``to_dict`` raises if one were not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from hookrelay.alarms.blocks import (
    AMBER,
    FIELD_MAX,
    GREEN,
    GREY,
    HEADER_MAX,
    RED,
    SECTION_MAX,
    code,
    escape,
    field,
    mrkdwn,
    payload,
    truncate,
    when,
)
from hookrelay.alarms.logs import LogLine
from hookrelay.alarms.notification import AlarmNotification, AlarmState
from hookrelay.alarms.text import metric_description, threshold_description, transition

COLOURS = {AlarmState.ALARM: RED, AlarmState.OK: GREEN, AlarmState.INSUFFICIENT_DATA: GREY}
UNPARSED_COLOUR = AMBER
EMOJI = {AlarmState.ALARM: ":red_circle:", AlarmState.OK: ":large_green_circle:"}
LOG_LINE_MAX = 300
PARTNERS_SHOWN = 10


class LogExcerpt(BaseModel):
    """Recent error lines of the alarm's function, or why they could not be read."""

    model_config = ConfigDict(frozen=True)

    log_group: str
    lines: list[LogLine] = []
    url: str | None = None
    error: str | None = None
    skipped: str | None = None  # why they were not read at all ("logs not read: out of time")


def alarm_message(
    alarm: AlarmNotification,
    *,
    alarm_url: str | None = None,
    logs: LogExcerpt | None = None,
    partners: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The Slack payload (``text`` + ``attachments``) for one alarm notification.

    ``partners``: who the alarm is about when the caller found out (a stage alarm's contributors in
    ALARM); by default the notification's own partner, if any.
    """
    if partners is None:
        partners = [alarm.partner_id] if alarm.partner_id else []
    state = alarm.new_state
    title = f"{state}: {alarm.alarm_name}"
    header = truncate(f"{EMOJI.get(state, ':white_circle:')} {title}", HEADER_MAX)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=header)),
        SectionBlock(text=mrkdwn(alarm.reason or "(no reason given)")),
        SectionBlock(fields=_facts(alarm, partners)),
    ]
    details = _details(alarm)
    if details:
        blocks.append(SectionBlock(fields=details))
    if logs is not None:
        blocks.append(_log_section(logs))
    buttons = []
    if alarm_url:
        buttons.append(ButtonElement(text="Open alarm", url=alarm_url, action_id="open-alarm"))
    if logs is not None and logs.url:
        buttons.append(ButtonElement(text="Open logs", url=logs.url, action_id="open-logs"))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    if alarm.alarm_description:
        blocks.append(ContextBlock(elements=[mrkdwn(alarm.alarm_description, FIELD_MAX)]))
    fallback = f"{title} ({partner_list(partners)})" if partners else title
    return payload(fallback, blocks, COLOURS[state])


def partner_list(partners: Sequence[str]) -> str:
    """``acme, globex`` (the first few, then how many more)."""
    shown = ", ".join(partners[:PARTNERS_SHOWN])
    return shown + (f" and {len(partners) - PARTNERS_SHOWN} more" if len(partners) > PARTNERS_SHOWN else "")


def _facts(alarm: AlarmNotification, partners: Sequence[str]) -> list[MarkdownTextObject]:
    """State change, partner(s), kind, time (shown in each reader's time zone), region, account."""
    facts = [field("State", transition(alarm))]
    if partners:
        facts.append(field("Partner" if len(partners) == 1 else "Partners", partner_list(partners)))
    if alarm.kind:
        facts.append(field("Alarm kind", alarm.kind))
    facts.append(MarkdownTextObject(text=f"*Time*\n{when(alarm.state_change_time)}"))
    named = f"({alarm.region_name})" if alarm.region_name else None
    region = " ".join(part for part in (alarm.region, named) if part)
    if region:
        facts.append(field("Region", region))
    if alarm.account_id:
        facts.append(field("Account", alarm.account_id))
    return facts


def _details(alarm: AlarmNotification) -> list[MarkdownTextObject]:
    """The metric and threshold; for a composite alarm its rule and the children that triggered it."""
    details = []
    metric = metric_description(alarm)
    if metric:
        details.append(field("Metric", metric))
    threshold = threshold_description(alarm)
    if threshold:
        details.append(field("Rule" if alarm.trigger is None else "Threshold", threshold))
    if alarm.triggering_children:
        children = [
            f"{c.alarm_name} ({c.state.value if c.state else '?'})" for c in alarm.triggering_children
        ]
        details.append(field("Triggered by", "\n".join(children)))
    return details


def _log_section(logs: LogExcerpt) -> SectionBlock:
    heading = f"*Recent errors in* `{escape(logs.log_group, 500)}`\n"
    if logs.skipped:
        text = f"{heading}_{escape(logs.skipped, 200)}_"
    elif logs.error:
        text = f"{heading}_could not read them: {escape(logs.error, 1000)}_"
    elif not logs.lines:
        text = f"{heading}_no error lines around the state change_"
    else:
        body = "\n".join(truncate(line.message, LOG_LINE_MAX) for line in logs.lines)
        text = heading + code(body, SECTION_MAX - len(heading))
    return SectionBlock(text=MarkdownTextObject(text=text))


def unparsed_message(raw: str, reason: str, subject: str | None = None) -> dict[str, Any]:
    """A plain message for an SNS notification that is not an alarm we understand, with its raw text."""
    title = "Unparsed notification" + (f": {subject}" if subject else "")
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=truncate(f":grey_question: {title}", HEADER_MAX))),
        SectionBlock(text=mrkdwn(reason)),
        SectionBlock(text=MarkdownTextObject(text=code(raw or "(empty message)", SECTION_MAX))),
    ]
    return payload(title, blocks, UNPARSED_COLOUR)
