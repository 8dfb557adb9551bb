"""The Block Kit pieces every hookrelay Slack message shares (alarms, health notices, unparsed
notifications): the colour bar's palette, mrkdwn escaping cut to Slack's limits, a titled field, a code
block, a Slack date token, and the payload itself (a fallback ``text`` and one coloured attachment).

Built on slack-sdk's models, so a message is valid by construction: ``to_dict`` raises if a text were
over its limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.attachments import BlockAttachment
from slack_sdk.models.blocks import Block, HeaderBlock, MarkdownTextObject, SectionBlock

RED, AMBER, GREEN, GREY = "#D62828", "#ECB22E", "#2EB67D", "#9E9E9E"
HEADER_MAX = HeaderBlock.text_max_length
SECTION_MAX = SectionBlock.text_max_length
FIELD_MAX = 2000
FALLBACK_MAX = 300

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


def mrkdwn(text: str, limit: int = SECTION_MAX) -> MarkdownTextObject:
    return MarkdownTextObject(text=escape(text, limit))


def field(title: str, value: str) -> MarkdownTextObject:
    """A bold title over an escaped value, within a field's 2,000 characters."""
    heading = f"*{title}*\n"
    return MarkdownTextObject(text=heading + escape(value, FIELD_MAX - len(heading)))


def code(text: str, limit: int) -> str:
    """``text`` in a code block (its own fences defused), the whole within ``limit``."""
    fence = "```"
    return fence + escape(text.replace(fence, "'''"), limit - 2 * len(fence)) + fence


def when(at: datetime) -> str:
    """A Slack date token (shown in each reader's time zone) with UTC as the fallback."""
    return f"<!date^{int(at.timestamp())}^{{date_num}} {{time_secs}}|{at.strftime('%Y-%m-%d %H:%M:%S UTC')}>"


def payload(fallback: str, blocks: Sequence[Block], colour: str) -> dict[str, Any]:
    """The Slack payload: ``text`` (what notifications show) and one attachment of ``blocks``."""
    attachment = BlockAttachment(blocks=list(blocks), color=colour, fallback=truncate(fallback, FALLBACK_MAX))
    return {"text": escape(fallback, FALLBACK_MAX), "attachments": [attachment.to_dict()]}
