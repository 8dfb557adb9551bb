"""Slack messages for alarms, built from slack-sdk's Block Kit models (so they are valid by construction).

A message is a fallback ``text`` (what notifications show) and one attachment whose colour bar tells
the state (ALARM red, OK green, INSUFFICIENT_DATA grey) and whose blocks hold the facts. Every text is
escaped for mrkdwn and cut to Slack's limits; slack-sdk's ``to_dict`` raises if one were not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_sdk.models.attachments import BlockAttachment
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

from hookrelay.alarms.logs import LogLine
from hookrelay.alarms.notification import AlarmNotification, AlarmState
from hookrelay.alarms.text import metric_description, threshold_description, transition

COLOURS = {AlarmState.ALARM: "#D62828", AlarmState.OK: "#2EB67D", AlarmState.INSUFFICIENT_DATA: "#9E9E9E"}
UNPARSED_COLOUR = "#ECB22E"
EMOJI = {AlarmState.ALARM: ":red_circle:", AlarmState.OK: ":large_green_circle:"}
HEADER_MAX = HeaderBlock.text_max_length
SECTION_MAX = SectionBlock.text_max_length
FIELD_MAX = 2000
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


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str, limit: int | None = None) -> str:
    """``text`` escaped for mrkdwn (only ``&``, ``<``, ``>``), cut to ``limit`` between entities."""
    pieces = [_ESCAPES.get(ch, ch) for ch in text]
    if limit is None or sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    size = 0
    for piece in pieces:
        if size + len(piece) > limit - 1:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + "…"


def _mrkdwn(text: str, limit: int = SECTION_MAX) -> MarkdownTextObject:
    return MarkdownTextObject(text=escape(text, limit))


def _field(title: str, value: str) -> MarkdownTextObject:
    heading = f"*{title}*\n"
    return MarkdownTextObject(text=heading + escape(value, FIELD_MAX - len(heading)))


def _code(text: str, limit: int) -> str:
    fence = "```"
    return fence + escape(text.replace(fence, "'''"), limit - 2 * len(fence)) + fence


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
        SectionBlock(text=_mrkdwn(alarm.reason or "(no reason given)")),
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
        blocks.append(ContextBlock(elements=[_mrkdwn(alarm.alarm_description, FIELD_MAX)]))
    fallback = f"{title} ({partner_list(partners)})" if partners else title
    attachment = BlockAttachment(blocks=blocks, color=COLOURS[state], fallback=truncate(fallback, 300))
    return {"text": escape(fallback, 300), "attachments": [attachment.to_dict()]}


def partner_list(partners: Sequence[str]) -> str:
    """``acme, globex`` (the first few, then how many more)."""
    shown = ", ".join(partners[:PARTNERS_SHOWN])
    return shown + (f" and {len(partners) - PARTNERS_SHOWN} more" if len(partners) > PARTNERS_SHOWN else "")


def _facts(alarm: AlarmNotification, partners: Sequence[str]) -> list[MarkdownTextObject]:
    """State change, partner(s), kind, time (shown in each reader's time zone), region, account."""
    facts = [_field("State", transition(alarm))]
    if partners:
        facts.append(_field("Partner" if len(partners) == 1 else "Partners", partner_list(partners)))
    if alarm.kind:
        facts.append(_field("Alarm kind", alarm.kind))
    epoch = int(alarm.state_change_time.timestamp())
    when = alarm.state_change_time.strftime("%Y-%m-%d %H:%M:%S UTC")
    facts.append(MarkdownTextObject(text=f"*Time*\n<!date^{epoch}^{{date_num}} {{time_secs}}|{when}>"))
    named = f"({alarm.region_name})" if alarm.region_name else None
    region = " ".join(part for part in (alarm.region, named) if part)
    if region:
        facts.append(_field("Region", region))
    if alarm.account_id:
        facts.append(_field("Account", alarm.account_id))
    return facts


def _details(alarm: AlarmNotification) -> list[MarkdownTextObject]:
    """The metric and threshold; for a composite alarm its rule and the children that triggered it."""
    details = []
    metric = metric_description(alarm)
    if metric:
        details.append(_field("Metric", metric))
    threshold = threshold_description(alarm)
    if threshold:
        details.append(_field("Rule" if alarm.trigger is None else "Threshold", threshold))
    if alarm.triggering_children:
        children = [
            f"{c.alarm_name} ({c.state.value if c.state else '?'})" for c in alarm.triggering_children
        ]
        details.append(_field("Triggered by", "\n".join(children)))
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
        text = heading + _code(body, SECTION_MAX - len(heading))
    return SectionBlock(text=MarkdownTextObject(text=text))


def unparsed_message(raw: str, reason: str, subject: str | None = None) -> dict[str, Any]:
    """A plain message for an SNS notification that is not an alarm we understand, with its raw text."""
    title = "Unparsed notification" + (f": {subject}" if subject else "")
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=truncate(f":grey_question: {title}", HEADER_MAX))),
        SectionBlock(text=_mrkdwn(reason)),
        SectionBlock(text=MarkdownTextObject(text=_code(raw or "(empty message)", SECTION_MAX))),
    ]
    attachment = BlockAttachment(blocks=blocks, color=UNPARSED_COLOUR, fallback=truncate(title, 300))
    return {"text": escape(title, 300), "attachments": [attachment.to_dict()]}
