"""HTML that is escaped by default: :class:`Safe` marks markup we wrote; everything else is text.

:func:`tag` and :func:`fill` escape every value that is not already :class:`Safe` (quotes included, so a
value is safe in an attribute too). A partner's response excerpt, URL or error text therefore shows as
the text it is: ``<script>alert(1)</script>`` renders as those characters, never as a script.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

VOID = frozenset({"input", "br", "meta", "link", "img"})


class Safe(str):
    """Markup built by this package (already escaped where it holds values)."""

    __slots__ = ()


def h(value: object) -> Safe:
    """``value`` as HTML text: escaped, unless it is :class:`Safe` already; None is empty."""
    if isinstance(value, Safe):
        return value
    return Safe(escape("" if value is None else str(value), quote=True))


def fill(template: str, **values: object) -> Safe:
    """``template`` (ours, trusted) with each ``{name}`` replaced by ``h(value)``."""
    return Safe(template.format(**{name: h(value) for name, value in values.items()}))


def join(parts: Iterable[object], separator: str = "") -> Safe:
    return Safe(separator.join(h(part) for part in parts))


def tag(element: str, content: object = "", /, **attributes: object) -> Safe:
    """``<element attr="...">content</element>``; a trailing underscore in an attribute name is dropped
    (``class_``), an underscore inside becomes a dash (``data_confirm``); None or False omits it."""
    attrs = []
    for key, value in attributes.items():
        if value is None or value is False:
            continue
        attr = key.rstrip("_").replace("_", "-")
        attrs.append(f" {attr}" if value is True else f' {attr}="{h(value)}"')
    if element in VOID:
        return Safe(f"<{element}{''.join(attrs)}>")
    return Safe(f"<{element}{''.join(attrs)}>{h(content)}</{element}>")


def page(title: str, body: object, base: str, *, refresh: int | None = None, nav: object = "") -> Safe:
    """A whole page: our stylesheet and script (static routes: the CSP allows no inline script)."""
    return fill(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>{title} · hookrelay</title><link rel="stylesheet" href="{base}/console/static/console.css">'
        '<script src="{base}/console/static/console.js" defer></script></head>'
        '<body data-refresh="{refresh}"><header><strong>hookrelay</strong> {nav}</header>'
        "<main>{body}</main></body></html>",
        title=title,
        base=base,
        refresh="" if refresh is None else refresh,
        nav=nav,
        body=body,
    )
