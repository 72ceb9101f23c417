"""The one way text reaches a table cell, a header or a badge: :class:`DisplayText`.

Everything a table shows is made by :func:`display` (or :func:`clipped`): the value is sanitised (:func:`~oncall_tui.text.sanitize.sanitize_for_display`:
control characters and escapes become visible ``\\x1b`` text, bidi/invisible characters
``<U+202E>`` markers, over-long values end in ``…[+N bytes]``) and never parsed as markup.

:class:`SafeTable` is the DataTable every screen uses; it refuses any cell, column header or
row label that is not a :class:`DisplayText`, so a new column cannot forget the sanitiser (the
SEV column once wrote a ``severity`` label's raw ``ESC[2J`` to the terminal).

:class:`TerminalGuard` is the last line: a Textual line filter that drops any terminal control
character still present in what a widget rendered, whatever widget drew it. It never fires for
text that went through :func:`display`; it exists so that a mistake elsewhere cannot wipe the
screen or write the clipboard.
"""

from __future__ import annotations

import re
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.filter import LineFilter
from textual.widgets import DataTable

from oncall_tui.text.sanitize import MAX_LABEL_VALUE, sanitize_for_display

#: Characters a terminal interprets (C0 except tab, DEL, C1), and the bidi/invisible ones.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\u2028\u2029]")


class DisplayText(Text):
    """A ``rich.text.Text`` whose characters went through the display sanitiser (made only by
    :func:`display`)."""


def display(
    value: object,
    *,
    limit: int | None = MAX_LABEL_VALUE,
    style: str | Style = "",
    multiline: bool = False,
    no_wrap: bool | None = None,
    overflow: str | None = None,
    justify: str | None = None,
) -> DisplayText:
    """``value`` as inert, printable, length-capped text for a cell, header or badge."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return DisplayText(
        sanitize_for_display(text, multiline=multiline, max_chars=limit),
        style=style,
        no_wrap=no_wrap,
        overflow=overflow,  # type: ignore[arg-type]
        justify=justify,  # type: ignore[arg-type]
    )


def clipped(value: object, *, limit: int | None = MAX_LABEL_VALUE, style: str | Style = "") -> DisplayText:
    """A one-line cell that ends in ``…`` when its column is narrower than the value."""
    return display(value, limit=limit, style=style, no_wrap=True, overflow="ellipsis")


def check_display(value: object, what: str) -> None:
    if not isinstance(value, DisplayText):
        raise TypeError(f"{what} must be DisplayText (oncall_tui.widgets.display.display), got {type(value).__name__}")


class SafeTable(DataTable):
    """A DataTable that accepts only :class:`DisplayText` cells, headers and row labels."""

    def add_column(self, label: object = None, *, width: int | None = None, key: str | None = None, default: object = None):  # type: ignore[override]
        check_display(label, "a column header")
        return super().add_column(label, width=width, key=key, default=default)  # type: ignore[arg-type]

    def add_columns(self, *labels: object):  # type: ignore[override]
        return [
            self.add_column(c[0], key=c[1]) if isinstance(c, tuple) else self.add_column(c) for c in labels
        ]

    def add_row(self, *cells: object, height: int | None = 1, key: str | None = None, label: object = None):  # type: ignore[override]
        for cell in cells:
            check_display(cell, "a table cell")
        if label is not None:
            check_display(label, "a row label")
        return super().add_row(*cells, height=height, key=key, label=label)  # type: ignore[arg-type]

    def update_cell(self, row_key, column_key, value, *, update_width: bool = False) -> None:  # type: ignore[no-untyped-def, override]
        check_display(value, "a table cell")
        super().update_cell(row_key, column_key, value, update_width=update_width)

    def update_cell_at(self, coordinate, value, *, update_width: bool = False) -> None:  # type: ignore[no-untyped-def, override]
        check_display(value, "a table cell")
        super().update_cell_at(coordinate, value, update_width=update_width)


class TerminalGuard(LineFilter):
    """Drops terminal control and bidi characters from every rendered line (all zero-width, so
    the layout is unchanged). Textual's own escape sequences are written by the driver, not in
    segment text, and are untouched."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        search = _CONTROL.search
        if not any(search(text) for text, _, control in segments if not control):
            return segments
        sub = _CONTROL.sub
        return [
            seg if seg.control or not search(seg.text) else Segment(sub("", seg.text), seg.style, None)
            for seg in segments
        ]


__all__ = ["DisplayText", "SafeTable", "TerminalGuard", "clipped", "display"]
