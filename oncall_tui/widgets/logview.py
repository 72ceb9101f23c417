"""The log view: a line-API widget that paints only the rows on screen.

:class:`LogView` is a ``ScrollView`` (as ``toolong``'s ``LogLines``): it holds references to
the loaded entries (a :class:`~oncall_tui.core.logs.LogBuffer`'s list plus, when filtered, the
indices that match) and renders a row only when it is visible, into a small per-view cache of
``Strip``s. Ten or a hundred thousand lines cost one list, not one widget or one ``Text`` each.

Each row: time (UTC ``HH:MM:SS.mmm``), level (coloured through theme variables), a short
source label (pod, else service), and the line, sanitised and cut to one row. In pattern mode
the rows are :class:`~oncall_tui.core.logs.PatternGroup` s (count, level, shape).

Everything shown is backend data: it goes through :func:`sanitize_for_display` and is built
into ``Segment``/``Text`` objects, never parsed as markup. No I/O here: the screen loads data
and hands it over.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from rich.cells import cell_len, set_cell_size
from rich.console import Console, Group
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from oncall_tui.core.logs.conventions import stream_source
from oncall_tui.core.logs.fields import parse_fields
from oncall_tui.core.logs.levels import entry_level
from oncall_tui.core.logs.patterns import PatternGroup
from oncall_tui.core.logs.traceids import entry_trace_id
from oncall_tui.text.sanitize import MAX_LABEL_VALUE, MAX_LOG_LINE, sanitize_for_display
from oncall_tui.models.loki import LogEntry, StreamKey

__all__ = [
    "LEVEL_TAGS",
    "LogView",
    "compact_line",
    "compact_shape",
    "detail_text",
    "entry_detail",
    "format_time",
    "short_source",
]

#: What the level column says for each normalised level.
LEVEL_TAGS: Mapping[str, str] = {
    "critical": "CRIT",
    "error": "ERROR",
    "warn": "WARN",
    "info": "INFO",
    "debug": "DEBUG",
    "trace": "TRACE",
    "unknown": "-",
}
_LEVEL_WIDTH = 5
_TIME_WIDTH = 12


#: Fields the columns already show (time, level): left out of the compact line.
_SHOWN_FIELDS = frozenset({"timestamp", "ts", "time", "@timestamp", "level", "lvl", "severity", "detected_level"})
_MESSAGE_FIELDS = ("msg", "message", "event", "error", "err")
#: Colour (SGR) sequences only: compact lines drop them (ANSI colours are off, R1.5).
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_BARE = re.compile(r"[^\s\"=]+")
_COMPACT_MAX = 64 * 1024


def compact_line(line: str) -> str:
    """A structured line told briefly: its message first, then the other fields as
    ``key=value``, leaving out time and level (the columns show them). Colour (SGR) sequences
    are dropped. Other lines come back unchanged. Raw text: sanitise before showing."""
    if "\x1b[" in line:
        line = _SGR.sub("", line)
    if len(line) > _COMPACT_MAX or "=" not in line and not line.lstrip().startswith("{"):
        return line
    fields = parse_fields(line)
    if not fields:
        return line
    message_key = next((k for k in _MESSAGE_FIELDS if any(f == k for f, _ in fields)), None)
    parts: list[str] = []
    if message_key is not None:
        parts.append(next(v for k, v in fields if k == message_key))
    for key, value in fields:
        if key == message_key or key in _SHOWN_FIELDS:
            continue
        parts.append(f"{key}={value if _BARE.fullmatch(value) else json.dumps(value, ensure_ascii=False)}")
    return " ".join(parts) or line


_SHAPE_SHOWN = re.compile(r"(?:(?<=^)|(?<= ))(?:timestamp|ts|time|@timestamp|level|lvl|severity|detected_level)=\S* ?")


def compact_shape(shape: str) -> str:
    """A structured line's pattern without its time and level fields (the columns show them)."""
    if shape.startswith("{"):
        shape = shape[1:-1] if shape.endswith("}") else shape[1:]
    return _SHAPE_SHOWN.sub("", shape).strip() or shape


def format_time(ns: int) -> str:
    """``HH:MM:SS.mmm`` (UTC) of Unix nanoseconds."""
    seconds, rest = divmod(ns, 1_000_000_000)
    t = time.gmtime(seconds)
    return f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{rest // 1_000_000:03d}"


def short_source(labels: Mapping[str, str]) -> str:
    """The stream's pod (``pod``, ``k8s_pod_name`` …, else service, app …), sanitised; ``-`` when none is set."""
    value = stream_source(labels)
    return sanitize_for_display(value, max_chars=64) if value else "-"


def _fit(text: str, width: int, *, keep_tail: bool = False) -> str:
    """``text`` in exactly ``width`` cells: cut with ``…`` (at the end, or in the middle so a
    pod's distinguishing suffix stays visible), or padded."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    if width == 1:
        return "…"
    if keep_tail and width >= 8:
        tail = max(width // 2 - 1, 3)
        head = width - tail - 1
        return set_cell_size(text, head) + "…" + _tail_cells(text, tail)
    return set_cell_size(text, width - 1) + "…"


def _tail_cells(text: str, width: int) -> str:
    out = ""
    for ch in reversed(text):
        if cell_len(ch + out) > width:
            break
        out = ch + out
    return set_cell_size(out, width) if cell_len(out) < width else out


class LogView(ScrollView, can_focus=True):
    """Log lines (or pattern groups), one row each, with a cursor row."""

    COMPONENT_CLASSES = {
        "logview--time",
        "logview--source",
        "logview--count",
        "logview--cursor",
        "logview--empty",
        "logview--level-critical",
        "logview--level-error",
        "logview--level-warn",
        "logview--level-info",
        "logview--level-debug",
        "logview--level-trace",
        "logview--level-unknown",
    }

    DEFAULT_CSS = """
    LogView { background: $surface; color: $foreground; overflow-x: hidden; overflow-y: auto; }
    LogView > .logview--time { color: $foreground-muted; }
    LogView > .logview--source { color: $foreground-muted; }
    LogView > .logview--count { color: $foreground; text-style: bold; }
    LogView > .logview--empty { color: $foreground-muted; text-style: italic; }
    LogView > .logview--cursor { background: $boost; }
    LogView:focus > .logview--cursor { background: $primary 35%; }
    LogView > .logview--level-critical { color: $severity-critical; text-style: bold reverse; }
    LogView > .logview--level-error { color: $severity-critical; text-style: bold; }
    LogView > .logview--level-warn { color: $severity-warning; }
    LogView > .logview--level-info { color: $severity-info; }
    LogView > .logview--level-debug { color: $severity-none; }
    LogView > .logview--level-trace { color: $severity-none; text-style: dim; }
    LogView > .logview--level-unknown { color: $foreground-muted; }
    LogView.-stale { opacity: 70%; }
    """

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="logs-up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="logs-down"),
        Binding("pageup", "page_up", "Page up", show=False, id="logs-page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="logs-page-down"),
        Binding("g,home", "first", "First", show=False, id="logs-first"),
        Binding("G,end", "last", "Last", show=False, id="logs-last"),
        Binding("enter", "select", "Details", id="logs-details"),
    ]

    class CursorMoved(Message):
        """The cursor moved to another row (the detail pane follows it)."""

        def __init__(self, view: LogView, row: int) -> None:
            super().__init__()
            self.view = view
            self.row = row

        @property
        def control(self) -> LogView:
            return self.view

    class Selected(Message):
        """``enter`` on a row."""

        def __init__(self, view: LogView, row: int) -> None:
            super().__init__()
            self.view = view
            self.row = row

        @property
        def control(self) -> LogView:
            return self.view

    class TopReached(Message):
        """The user asked to go above the first row (load older lines)."""

        def __init__(self, view: LogView) -> None:
            super().__init__()
            self.view = view

        @property
        def control(self) -> LogView:
            return self.view

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.mode: Literal["lines", "patterns"] = "lines"
        #: Show lines as sent (True) or structured lines told briefly (False, the default).
        self.raw = False
        self.empty_text = ""
        self._entries: Sequence[LogEntry] = ()
        self._rows: Sequence[int] | None = None
        self._groups: Sequence[PatternGroup] = ()
        self._cursor = 0
        #: Rendered rows by (id of the entry or group, selected, width) -> (that object, strip);
        #: kept across filter changes (the same line keeps its strip), checked by identity.
        self._cache: LRUCache[tuple[int, bool, int], tuple[object, Strip]] = LRUCache(1024)
        self._styles: dict[str, Style] = {}
        self._sources: dict[StreamKey, str] = {}
        self._source_width = 8
        self._count_width = 5
        self._scanned: tuple[int, int] = (-1, -1)
        self._quiet_scroll = False
        self._pending_offset: int | None = None

    # ------------------------------------------------------------------ data --
    @property
    def row_count(self) -> int:
        if self.mode == "patterns":
            return len(self._groups)
        return len(self._entries) if self._rows is None else len(self._rows)

    @property
    def cursor(self) -> int:
        return self._cursor

    def entry_at(self, row: int) -> LogEntry | None:
        """The entry shown on ``row`` (a pattern's example in pattern mode)."""
        if not 0 <= row < self.row_count:
            return None
        if self.mode == "patterns":
            return self._groups[row].example
        return self._entries[row if self._rows is None else self._rows[row]]

    def group_at(self, row: int) -> PatternGroup | None:
        if self.mode != "patterns" or not 0 <= row < len(self._groups):
            return None
        return self._groups[row]

    @property
    def selected_entry(self) -> LogEntry | None:
        return self.entry_at(self._cursor)

    @property
    def selected_group(self) -> PatternGroup | None:
        return self.group_at(self._cursor)

    def show_entries(
        self,
        entries: Sequence[LogEntry],
        rows: Sequence[int] | None = None,
        *,
        version: int | None = None,
        cursor: int | None = None,
        offset: int | None = None,
    ) -> None:
        """Show ``entries`` (oldest first), or only those at indices ``rows``.

        ``cursor`` is the row to select (default: keep, clamped); ``offset`` its distance from
        the top of the view (default: keep it where it was on screen; ``-1``: the bottom row). ``version`` (the
        buffer's) lets the view skip rescanning stream labels when only the filter changed.
        """
        previous = self._cursor - round(self.scroll_y)
        self.mode = "lines"
        self._entries = entries
        self._rows = rows
        self._groups = ()
        if version is None or (version, len(entries)) != self._scanned:
            self._scan_sources(entries)
            self._scanned = (version if version is not None else -1, len(entries))
        self._reset(cursor, previous if offset is None else offset)

    def show_patterns(self, groups: Sequence[PatternGroup], *, cursor: int = 0) -> None:
        """Show pattern groups (most frequent first), the cursor on ``cursor``."""
        self.mode = "patterns"
        self._groups = groups
        top = max((g.count for g in groups), default=0)
        self._count_width = max(len(f"{top:,}"), 5)
        self._reset(cursor, 0)

    def _scan_sources(self, entries: Sequence[LogEntry]) -> None:
        """Short labels per stream, and a source column as wide as the longest (capped later)."""
        sources = self._sources
        if len(sources) > 4096:
            sources.clear()
        for entry in entries:
            if entry.stream not in sources:
                sources[entry.stream] = short_source(entry.labels)
        if sources:
            width = max(min(max(cell_len(s) for s in sources.values()), 64), 3)
            if width != self._source_width:
                self._source_width = width
                self._cache.clear()

    def _reset(self, cursor: int | None, offset: int) -> None:
        count = self.row_count
        self._cursor = max(0, min(self._cursor if cursor is None else cursor, count - 1))
        self.virtual_size = Size(self.size.width, count)
        self._pending_offset = offset
        self._apply_offset()  # deferred to on_resize while the view has no size yet
        self.refresh()

    def _apply_offset(self) -> None:
        offset = self._pending_offset
        if offset is None:
            return
        height = self.size.height
        if not height:
            return  # on_resize applies it once the view has its size
        self._pending_offset = None
        offset = height - 1 if offset < 0 else min(offset, height - 1)
        self._scroll_quietly(self._cursor - offset)

    def _scroll_quietly(self, y: int) -> None:
        """Scroll without the "top reached" signal (that is for the user's own scrolling)."""
        self._quiet_scroll = True
        try:
            self.scroll_to(y=max(y, 0), animate=False, immediate=True, force=True)
        finally:
            self._quiet_scroll = False

    def set_raw(self, raw: bool) -> None:
        """Show lines as sent, or structured ones briefly (message first, no time/level)."""
        self.raw = raw
        self._cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._styles.clear()

    def _style(self, name: str) -> Style:
        """The widget's base style (``""``) or a component's, cached until styles change."""
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style if not name else self.get_component_rich_style(name)
            self._styles[name] = style
        return style

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self.virtual_size = Size(event.size.width, self.row_count)
        if self._pending_offset is not None:
            self._apply_offset()
        else:
            self._follow_cursor()
        if self.show_vertical_scrollbar:  # it may have appeared after the last scroll
            self.vertical_scrollbar.position = round(self.scroll_y)

    # ---------------------------------------------------------------- cursor --
    def move_cursor(self, row: int, *, notify: bool = True) -> None:
        count = self.row_count
        if count == 0:
            return
        row = max(0, min(row, count - 1))
        old = self._cursor
        self._cursor = row
        if old != row:
            self.refresh_lines(old)
            self.refresh_lines(row)
        self._follow_cursor()
        if notify and old != row:
            self.post_message(self.CursorMoved(self, row))

    def _follow_cursor(self) -> None:
        height = max(self.size.height, 1)
        top = round(self.scroll_y)
        if self._cursor < top:
            self._scroll_quietly(self._cursor)
        elif self._cursor >= top + height:
            self._scroll_quietly(self._cursor - height + 1)

    @property
    def at_end(self) -> bool:
        """Whether the cursor is on the last row (follow mode keeps it there)."""
        return self._cursor >= self.row_count - 1

    def action_cursor_up(self) -> None:
        if self._cursor == 0:
            self.post_message(self.TopReached(self))
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        if self._cursor == 0:
            self.post_message(self.TopReached(self))
        page = max(self.size.height - 1, 1)
        self.move_cursor(self._cursor - page)

    def action_page_down(self) -> None:
        page = max(self.size.height - 1, 1)
        self.move_cursor(self._cursor + page)

    def action_first(self) -> None:
        if self._cursor == 0:
            self.post_message(self.TopReached(self))
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count - 1)

    def action_select(self) -> None:
        if self.row_count:
            self.post_message(self.Selected(self, self._cursor))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._quiet_scroll and round(new_value) == 0 and round(old_value) > 0:
            self.post_message(self.TopReached(self))

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if round(self.scroll_y) == 0 and self.row_count:
            self.post_message(self.TopReached(self))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self.move_cursor(round(self.scroll_y) + offset.y)

    # ------------------------------------------------------------ rendering --
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        row = round(self.scroll_y) + y
        base = self._style("")
        if self.row_count == 0:
            if y == 0 and self.empty_text:
                style = base + self._style("logview--empty")
                return Strip([Segment(_fit(" " + self.empty_text, width), style)], width)
            return Strip.blank(width, base)
        if row >= self.row_count:
            return Strip.blank(width, base)
        selected = row == self._cursor
        shown: object = self._groups[row] if self.mode == "patterns" else self.entry_at(row)
        key = (id(shown), selected, width)
        cached = self._cache.get(key)
        if cached is not None and cached[0] is shown:
            return cached[1]
        strip = self._render_row(row, width, base, selected)
        self._cache[key] = (shown, strip)
        return strip

    def _render_row(self, row: int, width: int, base: Style, selected: bool) -> Strip:
        style = self._style
        extra = style("logview--cursor") if selected else None
        if self.mode == "patterns":
            group = self._groups[row]
            level = entry_level(group.example)
            count = f"{group.count:,}".rjust(self._count_width)
            head = [(count + " ", style("logview--count")), (_fit(LEVEL_TAGS[level], _LEVEL_WIDTH), style(f"logview--level-{level}")), (" ", None)]
            used = self._count_width + _LEVEL_WIDTH + 2
            text = group.display(max_chars=max(width - used, 1) + 256)
            if not self.raw:
                text = compact_shape(text)
        else:
            entry = self.entry_at(row)
            assert entry is not None
            level = entry_level(entry)
            source_width = min(self._source_width, max(width // 5, 8))
            source = self._sources.get(entry.stream) or short_source(entry.labels)
            # Separators go with the text before them (one segment, one run of text in an SVG).
            head = [
                (format_time(entry.ts) + " ", style("logview--time")),
                (_fit(LEVEL_TAGS[level], _LEVEL_WIDTH), style(f"logview--level-{level}")),
                (" ", None),
                (_fit(source, source_width, keep_tail=True) + " ", style("logview--source")),
            ]
            used = _TIME_WIDTH + _LEVEL_WIDTH + source_width + 3
            line = entry.line if self.raw else compact_line(entry.line)
            # Sanitise only what can show (control characters grow to 4 cells, never shrink).
            text = sanitize_for_display(line[: max(width - used, 1) + 1])
        avail = max(width - used, 0)
        text = text.expandtabs(4)
        if cell_len(text) > avail:
            text = _fit(text, avail)
        segments = [Segment(part, base + s if s is not None else base) for part, s in head]
        segments.append(Segment(text, base))
        strip = Strip(segments).crop_extend(0, width, base)
        if extra is not None:
            strip = Strip(
                [Segment(seg.text, (seg.style or base) + Style(bgcolor=extra.bgcolor, bold=extra.bold)) for seg in strip],
                strip.cell_length,
            )
        return strip


# ------------------------------------------------------------------ detail --
def _kv_table(pairs: Sequence[tuple[str, str]], width: int, *, multiline: bool, max_chars: int) -> Table:
    """Keys in a fixed column, values wrapping inside their own (hanging indent kept)."""
    table = Table.grid(padding=(0, 2), pad_edge=False, expand=True)
    table.add_column(width=width, no_wrap=True, style="dim")
    table.add_column(ratio=1, overflow="fold")
    for key, value in pairs:
        shown = sanitize_for_display(value, multiline=multiline, max_chars=max_chars).expandtabs(4)
        table.add_row(Text(_fit(sanitize_for_display(key, max_chars=64), width)), Text(shown))
    return table


def entry_detail(entry: LogEntry, *, group: PatternGroup | None = None) -> Group:
    """The expanded view of one line: time, level, trace id, fields, labels, the whole line.

    Rich ``Text``/``Table`` objects only (styles are attributes, never markup); every value is
    sanitised and capped (16 KiB per field and line, 1 KiB per label value: R1.8).
    """
    parts: list[Any] = []
    level = entry_level(entry)
    day = time.strftime("%Y-%m-%d ", time.gmtime(entry.ts // 1_000_000_000))
    head = Text(f"{day}{format_time(entry.ts)} UTC  {LEVEL_TAGS[level]}  ", style="bold")
    head.append(short_source(entry.labels), style="not bold")
    parts.append(head)
    if group is not None:
        line = Text(f"pattern of {group.count:,} lines: ", style="bold")
        line.append(group.display(max_chars=2000), style="not bold")
        parts.append(line)
    trace_id = entry_trace_id(entry)
    if trace_id:
        line = Text("trace ", style="bold")
        line.append(trace_id)
        line.append("   (t: open trace)", style="bold")
        parts.append(line)
    else:
        parts.append(Text("no trace id in this line", style="dim"))
    fields = parse_fields(entry.line) or []
    blocks: list[tuple[str, Sequence[tuple[str, str]], bool, int]] = []
    if fields:
        kind = "json" if entry.line.lstrip().startswith("{") else "logfmt"
        blocks.append((f"fields ({kind})", fields, True, MAX_LOG_LINE))
    blocks.append(("stream labels", sorted(entry.labels.items()), False, MAX_LABEL_VALUE))
    blocks.append(("structured metadata", sorted(entry.metadata.items()), False, MAX_LABEL_VALUE))
    blocks.append(("parsed labels", sorted(entry.parsed.items()), False, MAX_LABEL_VALUE))
    keys = [k for _, pairs, _, _ in blocks for k, _ in pairs]
    width = min(max((cell_len(sanitize_for_display(k, max_chars=64)) for k in keys), default=4), 28)
    for title, pairs, multiline, cap in blocks:
        if pairs:
            parts.append(Text(title, style="bold"))
            parts.append(_kv_table(pairs, width, multiline=multiline, max_chars=cap))
    parts.append(Text("line", style="bold"))
    parts.append(Text(sanitize_for_display(entry.line, max_chars=MAX_LOG_LINE).expandtabs(4), overflow="fold"))
    return Group(*parts)


def detail_text(detail: Group, width: int = 100) -> str:
    """``entry_detail``'s output as plain text (for tests and copying)."""
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    console.print(detail)
    return console.file.getvalue()  # type: ignore[attr-defined]
