"""The Slack message for a partner health notice (:mod:`hookrelay.health_notice`): failing, paused,
recovered. Built from slack-sdk's Block Kit models like the alarm messages (valid by construction), with
the same colours: paused red, failing amber, recovered green. It shows the partner, the failure count
and streak, the last failed webhook's topic and error excerpt, and (paused) the command that resumes it;
never a secret or a payload body (the notice carries neither).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from hookrelay.alarms.blocks import (
    AMBER,
    GREEN,
    HEADER_MAX,
    RED,
    SECTION_MAX,
    code,
    escape,
    field,
    payload,
    truncate,
    when,
)
from hookrelay.health_notice import HealthNotice, NoticeKind

COLOURS = {NoticeKind.PAUSED: RED, NoticeKind.FAILING: AMBER, NoticeKind.RECOVERED: GREEN}
EMOJI = {NoticeKind.PAUSED: ":double_vertical_bar:", NoticeKind.FAILING: ":warning:"}
HEADLINES = {
    NoticeKind.FAILING: "Partner {p} is failing",
    NoticeKind.PAUSED: "Partner {p} is paused",
    NoticeKind.RECOVERED: "Partner {p} has recovered",
}
REASONS = {
    "failing": "its endpoint kept failing: the pause thresholds were crossed",
    "gone": "its endpoint answered 410 Gone",
}


def _summary(notice: HealthNotice) -> str:
    failures = notice.consecutive_failures
    if notice.kind is NoticeKind.PAUSED:
        why = REASONS.get(notice.reason or "", notice.reason or "its health")
        return (
            f"Deliveries to {notice.partner_id} stopped after {failures} failed attempts in a row: {why}. "
            "Its queued webhooks are kept and are delivered once it is resumed."
        )
    if notice.kind is NoticeKind.FAILING:
        return f"{failures} delivery attempts in a row to {notice.partner_id} failed. Nothing is paused yet."
    return f"{notice.partner_id} accepts webhooks again."


def health_message(notice: HealthNotice) -> dict[str, Any]:
    """The Slack payload (``text`` + one coloured attachment of blocks) for one health notice."""
    title = HEADLINES[notice.kind].format(p=notice.partner_id) + f" ({notice.stage})"
    header = truncate(f"{EMOJI.get(notice.kind, ':large_green_circle:')} {title}", HEADER_MAX)
    failures = str(notice.consecutive_failures)
    facts = [field("Partner", notice.partner_id), field("Failures in a row", failures)]
    if notice.failing_since is not None and notice.kind is not NoticeKind.RECOVERED:
        facts.append(MarkdownTextObject(text=f"*Failing since*\n{when(notice.failing_since)}"))
    if notice.last_success_at is not None:
        facts.append(MarkdownTextObject(text=f"*Last success*\n{when(notice.last_success_at)}"))
    if notice.last_topic and notice.kind is not NoticeKind.RECOVERED:
        facts.append(field("Last failed webhook's topic", notice.last_topic))
    if notice.last_status_code is not None and notice.kind is not NoticeKind.RECOVERED:
        facts.append(field("Last status", str(notice.last_status_code)))
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=header)),
        SectionBlock(text=MarkdownTextObject(text=escape(_summary(notice), SECTION_MAX))),
        SectionBlock(fields=facts),
    ]
    if notice.last_error and notice.kind is not NoticeKind.RECOVERED:
        heading = "*Last error*\n"
        error = code(notice.last_error, SECTION_MAX - len(heading))
        blocks.append(SectionBlock(text=MarkdownTextObject(text=heading + error)))
    if notice.resume_command:
        heading = "*Resume it (once the endpoint is fixed)*\n"
        command = code(notice.resume_command, SECTION_MAX - len(heading))
        blocks.append(SectionBlock(text=MarkdownTextObject(text=heading + command)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"partner health · {when(notice.at)}")]))
    return payload(title, blocks, COLOURS[notice.kind])
