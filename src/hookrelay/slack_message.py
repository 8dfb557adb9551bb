"""Slack messages for alarms, built from slack-sdk's Block Kit models (so they are valid by construction).

A message is a fallback ``text`` (what notifications show) and one attachment whose colour bar tells
the state (ALARM red, OK green, INSUFFICIENT_DATA grey) and whose blocks hold the facts. Every text is
escaped for mrkdwn and cut to Slack's limits; slack-sdk's ``to_dict`` raises if one were not.
"""

from __future__ import annotations

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

from hookrelay.alarm_logs import LogLine
from hookrelay.alarm_text import metric_description, threshold_description, transition
from hookrelay.alarms import AlarmNotification, AlarmState

COLOURS = {AlarmState.ALARM: "#D62828", AlarmState.OK: "#2EB67D", AlarmState.INSUFFICIENT_DATA: "#9E9E9E"}
UNPARSED_COLOUR = "#ECB22E"
EMOJI = {AlarmState.ALARM: ":red_circle:", AlarmState.OK: ":large_green_circle:"}
HEADER_MAX = HeaderBlock.text_max_length
SECTION_MAX = SectionBlock.text_max_length
FIELD_MAX = 2000
LOG_LINE_MAX = 300


class LogExcerpt(BaseModel):
    """Recent error lines of the alarm's function, or why they could not be read."""

    model_config = ConfigDict(frozen=True)

    log_group: str
    lines: list[LogLine] = []
    url: str | None = None
    error: str | None = None


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """mrkdwn control characters, as Slack asks: only ``&``, ``<`` and ``>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _field(title: str, value: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(f"*{title}*\n{escape(value)}", FIELD_MAX))


def _code(text: str, limit: int) -> str:
    body = escape(text.replace("```", "'''"))
    return f"```{truncate(body, limit - 6)}```"


def alarm_message(
    alarm: AlarmNotification, *, alarm_url: str | None = None, logs: LogExcerpt | None = None
) -> dict[str, Any]:
    """The Slack payload (``text`` + ``attachments``) for one alarm notification."""
    state = alarm.new_state
    title = f"{state}: {alarm.alarm_name}"
    partner = alarm.partner_id
    epoch = int(alarm.state_change_time.timestamp())
    when = alarm.state_change_time.strftime("%Y-%m-%d %H:%M:%S UTC")
    fields = [_field("State", transition(alarm))]
    if partner:
        fields.append(_field("Partner", partner))
    if alarm.kind:
        fields.append(_field("Alarm kind", alarm.kind))
    fields.append(MarkdownTextObject(text=f"*Time*\n<!date^{epoch}^{{date_num}} {{time_secs}}|{when}>"))
    region = alarm.region or ""
    if alarm.region_name:
        region = f"{region} ({alarm.region_name})" if region else alarm.region_name
    if region:
        fields.append(_field("Region", region))
    if alarm.account_id:
        fields.append(_field("Account", alarm.account_id))

    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(text=truncate(f"{EMOJI.get(state, ':white_circle:')} {title}", HEADER_MAX))
        ),
        SectionBlock(
            text=MarkdownTextObject(text=truncate(escape(alarm.reason or "(no reason given)"), SECTION_MAX))
        ),
        SectionBlock(fields=fields),
    ]
    details = []
    metric = metric_description(alarm)
    if metric:
        details.append(_field("Metric", metric))
    threshold = threshold_description(alarm)
    if threshold:
        details.append(_field("Rule" if alarm.trigger is None else "Threshold", threshold))
    if alarm.triggering_children:
        children = "\n".join(
            f"{c.alarm_name} ({c.state.value if c.state else '?'})" for c in alarm.triggering_children
        )
        details.append(_field("Triggered by", children))
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
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=truncate(escape(alarm.alarm_description), FIELD_MAX))]
            )
        )
    fallback = f"{title} ({partner})" if partner else title
    attachment = BlockAttachment(blocks=blocks, color=COLOURS[state], fallback=truncate(fallback, 300))
    return {"text": truncate(escape(fallback), 300), "attachments": [attachment.to_dict()]}


def _log_section(logs: LogExcerpt) -> SectionBlock:
    heading = f"*Recent errors in* `{escape(logs.log_group)}`"
    if logs.error:
        return SectionBlock(
            text=MarkdownTextObject(
                text=truncate(f"{heading}\n_could not read them: {escape(logs.error)}_", SECTION_MAX)
            )
        )
    if not logs.lines:
        return SectionBlock(
            text=MarkdownTextObject(text=f"{heading}\n_no error lines around the state change_")
        )
    body = "\n".join(truncate(line.message, LOG_LINE_MAX) for line in logs.lines)
    return SectionBlock(
        text=MarkdownTextObject(text=heading + "\n" + _code(body, SECTION_MAX - len(heading) - 1))
    )


def unparsed_message(raw: str, reason: str, subject: str | None = None) -> dict[str, Any]:
    """A plain message for an SNS notification that is not an alarm we understand, with its raw text."""
    title = "Unparsed notification" + (f": {subject}" if subject else "")
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=truncate(f":grey_question: {title}", HEADER_MAX))),
        SectionBlock(text=MarkdownTextObject(text=truncate(escape(reason), SECTION_MAX))),
        SectionBlock(text=MarkdownTextObject(text=_code(raw or "(empty message)", SECTION_MAX))),
    ]
    attachment = BlockAttachment(blocks=blocks, color=UNPARSED_COLOUR, fallback=truncate(title, 300))
    return {"text": truncate(escape(title), 300), "attachments": [attachment.to_dict()]}
