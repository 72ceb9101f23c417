"""The trace waterfall: a line-API span tree that paints only the rows on screen.

:class:`WaterfallView` is a ``ScrollView``: its virtual height is the number of visible rows
(plus the time ruler, which stays on the first line), and ``render_line`` lays out only the
row asked for (:meth:`Waterfall.window`), so a 10,000-span trace costs what one screen of rows
costs. No ``DataTable``/``Tree`` with thousands of nodes, no I/O: the screen hands it a
:class:`~oncall_tui.core.waterfall.Waterfall` and listens to its messages.

Rows: indentation by depth, a collapse marker (``▾``/``▸``), ``!`` on error spans, the service
(in its colour) and the operation (bold when the span is on the critical path), the duration
(a column when there is room, else next to the bar), and the bar on the trace's time axis in
the service's colour; the stretches where the span is the critical path's bottleneck carry a
``━`` line. Colours come from component classes styled with theme variables (no literals);
every text from the trace is sanitised by the core helpers and painted as plain segments.

:class:`TraceHeader` (trace summary and the service colour legend) and :class:`SpanDetail`
(attributes, resource, events with multi-line stack traces, links, status) complete the view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from oncall_tui.core.waterfall.view import Row, Waterfall
from oncall_tui.models.tempo.trace import Span
from oncall_tui.text.sanitize import sanitize_for_display

__all__ = ["PALETTE", "PALETTE_SIZE", "WaterfallView", "label_width", "palette_css"]

#: Theme variables used as per-service colours, in slot order. Existing variables only (no
#: literals); $error stays reserved for errors.
PALETTE: tuple[str, ...] = (
    "$primary",
    "$success",
    "$accent",
    "$readonly-badge",
    "$state-pending",
    "$sparkline-high",
    "$secondary",
    "$severity-none",
)
PALETTE_SIZE = len(PALETTE)
#: At this width and above the duration gets its own column; below it goes next to the bar.
WIDE = 100
DURATION_COLUMN = 8
MIN_TRACK = 12
#: Painted rows kept (a row's strip depends only on its node, width, selection, match, collapse
#: state, zoom and focus): scrolling back, moving the cursor and repaints cost nothing.
STRIP_CACHE = 2048


def palette_css(owner: str) -> str:
    rules = []
    for i, var in enumerate(PALETTE):
        rules.append(f"{owner} > .{_prefix(owner)}--svc-{i} {{ color: {var}; }}")
        rules.append(f"{owner} > .{_prefix(owner)}--bar-{i} {{ background: {var}; color: $background; }}")
    return "\n".join(rules)


def _prefix(owner: str) -> str:
    return {"WaterfallView": "waterfall", "TraceHeader": "trace-header", "SpanDetail": "span-detail"}[owner]


def label_width(width: int) -> int:
    """Columns for indentation, marker, service and operation at a widget ``width``."""
    return max(18, min(int(width * 0.38), 64))


def _fit(pieces: Sequence[tuple[str, Style]], width: int, pad: Style) -> list[Segment]:
    """Segments of ``pieces`` cut (with ``…``) or padded to exactly ``width`` cells."""
    out: list[Segment] = []
    used = 0
    total = sum(cell_len(t) for t, _ in pieces)
    if total <= width:
        out = [Segment(t, s) for t, s in pieces if t]
        if total < width:
            out.append(Segment(" " * (width - total), pad))
        return out
    room = max(width - 1, 0)
    last_style = pad
    for text, style in pieces:
        if not text:
            continue
        w = cell_len(text)
        if used + w <= room:
            out.append(Segment(text, style))
            used += w
            last_style = style
            continue
        cut = set_cell_size(text, room - used)
        if cut.strip():
            out.append(Segment(cut, style))
        else:
            out.append(Segment(cut, pad))
        used = room
        last_style = style
        break
    if width >= 1:
        out.append(Segment("…", last_style))
    return out


class WaterfallView(ScrollView, can_focus=True, inherit_bindings=False):
    """The span rows of one trace (see the module doc). Select with the cursor keys."""

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="waterfall-up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="waterfall-down"),
        Binding("pageup", "page_up", "Page up", show=False, id="waterfall-page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="waterfall-page-down"),
        Binding("home,g", "cursor_top", "Top", show=False, id="waterfall-top"),
        Binding("end,G", "cursor_bottom", "Bottom", show=False, id="waterfall-bottom"),
        Binding("left", "collapse", "Collapse", id="waterfall-collapse"),
        Binding("right", "expand", "Expand", id="waterfall-expand"),
        Binding("p", "collapse_level", "Collapse level", show=False, id="waterfall-collapse-level"),
        Binding("o", "expand_level", "Expand level", show=False, id="waterfall-expand-level"),
        Binding("asterisk", "expand_all", "Expand all", show=False, id="waterfall-expand-all"),
        Binding("minus", "collapse_all", "Collapse all", show=False, id="waterfall-collapse-all"),
        Binding("e", "next_error", "Next error", show=False, id="waterfall-next-error"),
        Binding("z", "zoom", "Zoom to span", id="waterfall-zoom"),
        Binding("0", "reset_zoom", "Reset zoom", show=False, id="waterfall-reset-zoom"),
    ]

    COMPONENT_CLASSES = {
        "waterfall--ruler",
        "waterfall--cursor",
        "waterfall--muted",
        "waterfall--error",
        "waterfall--critical",
        "waterfall--match",
        "waterfall--crit-line",
        "waterfall--edge",
        *(f"waterfall--svc-{i}" for i in range(PALETTE_SIZE)),
        *(f"waterfall--bar-{i}" for i in range(PALETTE_SIZE)),
    }

    DEFAULT_CSS = (
        """
    WaterfallView { height: 1fr; overflow-x: hidden; overflow-y: auto; scrollbar-size-vertical: 1; background: $surface; }
    WaterfallView > .waterfall--ruler { background: $panel; color: $foreground-muted; text-style: bold; }
    WaterfallView > .waterfall--cursor { background: $boost; }
    WaterfallView:focus > .waterfall--cursor { background: $primary 30%; }
    WaterfallView > .waterfall--muted { color: $foreground-muted; }
    WaterfallView > .waterfall--error { color: $error; text-style: bold; }
    WaterfallView > .waterfall--critical { text-style: bold; }
    WaterfallView > .waterfall--match { color: $background; background: $accent; text-style: bold; }
    WaterfallView > .waterfall--crit-line { color: $background; text-style: bold; }
    WaterfallView > .waterfall--edge { color: $foreground-muted; text-style: bold; }
    """
        + palette_css("WaterfallView")
    )

    class Highlighted(Message):
        """The selected span changed (``node`` is its tree index)."""

        def __init__(self, view: WaterfallView, node: int) -> None:
            super().__init__()
            self.view = view
            self.node = node

        @property
        def control(self) -> WaterfallView:
            return self.view

    class ViewChanged(Message):
        """Collapse state or zoom changed (the header shows the zoom window)."""

        def __init__(self, view: WaterfallView) -> None:
            super().__init__()
            self.view = view

        @property
        def control(self) -> WaterfallView:
            return self.view

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.waterfall: Waterfall | None = None
        self.matches: set[int] = set()
        self.placeholder = ""
        self._node = 0
        self._styles: dict[tuple[bool, str], Style] = {}
        self._zoom_stack: list[tuple[int, int]] = []
        self._narrow = False
        self._strips: dict[tuple[object, ...], Strip] = {}
        self._width_key: object = None
        self._width = 0

    # ------------------------------------------------------------------ state --
    def set_waterfall(self, waterfall: Waterfall | None, *, select: int | None = None) -> None:
        self.waterfall = waterfall
        self._strips.clear()
        self.matches = set()
        self._node = 0
        if waterfall is not None and select is not None and 0 <= select < len(waterfall):
            waterfall.reveal(select)
            self._node = select
        self._rows_changed()
        self.scroll_to(y=0, animate=False)
        self._scroll_cursor_into_view()
        if waterfall is not None and len(waterfall):
            self.post_message(self.Highlighted(self, self._node))

    def set_placeholder(self, text: str) -> None:
        self.placeholder = sanitize_for_display(text, max_chars=500)
        self.refresh()

    @property
    def selected_node(self) -> int | None:
        wf = self.waterfall
        if wf is None or not len(wf):
            return None
        return self._node

    @property
    def selected_span(self) -> Span | None:
        node = self.selected_node
        return None if node is None or self.waterfall is None else self.waterfall.spans[node]

    @property
    def cursor_position(self) -> int:
        wf = self.waterfall
        if wf is None:
            return 0
        pos = wf.position_of(self._node)
        return 0 if pos is None else pos

    def set_matches(self, nodes: Iterable[int]) -> None:
        self.matches = set(nodes)
        self.refresh()

    def select_node(self, node: int) -> None:
        """Select ``node``, expanding its ancestors so that it is shown."""
        wf = self.waterfall
        if wf is None or not 0 <= node < len(wf):
            return
        before = wf.row_count
        wf.reveal(node)
        if wf.row_count != before:
            self._rows_changed()
        self._move_to_node(node)

    def _rows_changed(self) -> None:
        wf = self.waterfall
        rows = wf.row_count if wf is not None else 0
        self.virtual_size = Size(max(self.scrollable_content_region.width, 1), rows + 1)
        self.refresh()

    def _rows_on_screen(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def _scroll_cursor_into_view(self) -> None:
        pos = self.cursor_position
        top = round(self.scroll_y)
        page = self._rows_on_screen()
        if pos < top:
            self.scroll_to(y=pos, animate=False)
        elif pos >= top + page:
            self.scroll_to(y=pos - page + 1, animate=False)

    def _move_to_node(self, node: int) -> None:
        if node == self._node:
            self._scroll_cursor_into_view()
            return
        old = self.cursor_position
        self._node = node
        top = round(self.scroll_y)
        self._refresh_position(old, top)
        self._refresh_position(self.cursor_position, top)
        self._scroll_cursor_into_view()
        self.post_message(self.Highlighted(self, node))

    def _refresh_position(self, pos: int, top: int) -> None:
        y = pos - top + 1
        if 1 <= y < self.size.height:
            self.refresh_line(pos + 1)

    def _move_to_position(self, pos: int) -> None:
        wf = self.waterfall
        if wf is None or not wf.row_count:
            return
        rows = wf.visible_nodes()
        pos = max(0, min(pos, len(rows) - 1))
        self._move_to_node(rows[pos])

    def _state_changed(self, keep: int | None = None) -> None:
        """After collapse/expand: keep the selection on its node or its visible ancestor."""
        wf = self.waterfall
        if wf is None:
            return
        node = wf.visible_ancestor(self._node if keep is None else keep)
        changed = node != self._node
        self._node = node
        self._rows_changed()
        self._scroll_cursor_into_view()
        if changed:
            self.post_message(self.Highlighted(self, node))
        self.post_message(self.ViewChanged(self))

    # ---------------------------------------------------------------- actions --
    def action_cursor_up(self) -> None:
        self._move_to_position(self.cursor_position - 1)

    def action_cursor_down(self) -> None:
        self._move_to_position(self.cursor_position + 1)

    def action_page_up(self) -> None:
        page = self._rows_on_screen()
        self.scroll_to(y=max(round(self.scroll_y) - page, 0), animate=False)
        self._move_to_position(self.cursor_position - page)

    def action_page_down(self) -> None:
        page = self._rows_on_screen()
        wf = self.waterfall
        rows = wf.row_count if wf is not None else 0
        self.scroll_to(y=min(round(self.scroll_y) + page, max(rows - page, 0)), animate=False)
        self._move_to_position(self.cursor_position + page)

    def action_cursor_top(self) -> None:
        self._move_to_position(0)

    def action_cursor_bottom(self) -> None:
        wf = self.waterfall
        if wf is not None:
            self._move_to_position(wf.row_count - 1)

    def action_collapse(self) -> None:
        """Collapse the selected span; on a leaf or a collapsed span, go to its parent."""
        wf = self.waterfall
        node = self.selected_node
        if wf is None or node is None:
            return
        if wf.has_children(node) and node not in wf.collapsed:
            wf.collapse(node)
            self._state_changed()
        elif wf.parent[node] >= 0:
            self._move_to_node(wf.parent[node])

    def action_expand(self) -> None:
        """Expand the selected span; when it is expanded already, go to its first child."""
        wf = self.waterfall
        node = self.selected_node
        if wf is None or node is None or not wf.has_children(node):
            return
        if node in wf.collapsed:
            wf.expand(node)
            self._state_changed()
        else:
            self._move_to_node(node + 1)

    def action_collapse_level(self) -> None:
        if self.waterfall is not None:
            self.waterfall.collapse_level()
            self._state_changed()

    def action_expand_level(self) -> None:
        if self.waterfall is not None:
            self.waterfall.expand_level()
            self._state_changed()

    def action_expand_all(self) -> None:
        if self.waterfall is not None:
            self.waterfall.expand_all()
            self._state_changed()

    def action_collapse_all(self) -> None:
        if self.waterfall is not None:
            self.waterfall.collapse_all()
            self._state_changed()

    def action_next_error(self) -> None:
        wf = self.waterfall
        node = self.selected_node
        if wf is None or node is None:
            return
        errors = wf.error_nodes()
        if errors:
            after = [e for e in errors if e > node]
            self.select_node(after[0] if after else errors[0])

    def action_zoom(self) -> None:
        wf = self.waterfall
        node = self.selected_node
        if wf is None or node is None:
            return
        self._zoom_stack.append(wf.view)
        wf.zoom_to(node)
        self.refresh()
        self.post_message(self.ViewChanged(self))

    def action_reset_zoom(self) -> None:
        if self.waterfall is not None:
            self.waterfall.reset_zoom()
            self._zoom_stack.clear()
            self.refresh()
            self.post_message(self.ViewChanged(self))

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1 and self.waterfall is not None:
            self._move_to_position(round(self.scroll_y) + event.y - 1)

    def on_resize(self) -> None:
        self._rows_changed()

    # ---------------------------------------------------------------- painting --
    def notify_style_update(self) -> None:
        self._styles.clear()
        self._strips.clear()
        super().notify_style_update()

    def _style(self, component: str, cursor: bool = False) -> Style:
        key = (cursor, component)
        style = self._styles.get(key)
        if style is None:
            base = self.get_component_rich_style("waterfall--cursor") if cursor else self.rich_style
            style = base if not component else base + self.get_component_rich_style(component, partial=True)
            self._styles[key] = style
        return style

    def geometry(self, width: int) -> tuple[int, int, int]:
        """``(label, duration column or 0, track)`` widths for a ``width``-column row."""
        label = label_width(width)
        duration = DURATION_COLUMN if width >= WIDE else 0
        track = width - label - 1 - (duration + 1 if duration else 0)
        if track < MIN_TRACK:
            label = max(width - MIN_TRACK - 1 - (duration + 1 if duration else 0), 8)
            track = max(width - label - 1 - (duration + 1 if duration else 0), 1)
        return label, duration, track

    def _content_width(self) -> int:
        key = (self.size, self.show_vertical_scrollbar)
        if self._width_key != key:
            self._width_key = key
            self._width = self.scrollable_content_region.width
        return self._width

    def render_line(self, y: int) -> Strip:
        width = self._content_width()
        if width <= 0:
            return Strip.blank(0)
        wf = self.waterfall
        if wf is None or not len(wf):
            if y == 1 and self.placeholder:
                return Strip(_fit([(" " + self.placeholder, self._style("waterfall--muted"))], width, self.rich_style), width)
            return Strip.blank(width, self.rich_style)
        if y == 0:
            return self._ruler_strip(wf, width)
        pos = round(self.scroll_y) + y - 1
        rows = wf.visible_nodes()
        if pos >= len(rows):
            return Strip.blank(width, self.rich_style)
        node = rows[pos]
        key = (node, width, node == self._node, node in self.matches, node in wf.collapsed, wf.view, self.has_focus)
        strip = self._strips.get(key)
        if strip is None:
            if len(self._strips) > STRIP_CACHE:
                self._strips.clear()
            strip = self._strips[key] = self._row_strip(wf, pos, node, width)
        return strip

    def _ruler_strip(self, wf: Waterfall, width: int) -> Strip:
        label_w, dur_w, track_w = self.geometry(width)
        style = self._style("waterfall--ruler")
        head = f" {wf.row_count} of {len(wf)} spans" if wf.row_count != len(wf) else f" {len(wf)} spans"
        segments = _fit([(head, style)], label_w + 1, style)
        if dur_w:
            segments += _fit([("duration".rjust(dur_w), style)], dur_w + 1, style)
        cells = [" "] * track_w
        for col, text in wf.ruler(track_w, min_gap=9):
            mark = "▏" + text
            start = col if col + len(mark) <= track_w else max(track_w - len(mark), 0)
            if start and cells[start - 1] != " ":
                continue  # would touch the previous label
            for k, ch in enumerate(mark[: track_w - start]):
                cells[start + k] = ch
        segments.append(Segment("".join(cells), style))
        return Strip(segments, width)

    def _row_strip(self, wf: Waterfall, pos: int, node: int, width: int) -> Strip:
        label_w, dur_w, track_w = self.geometry(width)
        self._narrow = not dur_w
        row: Row = wf.window(pos, 1, track_w)[0]
        cursor = node == self._node
        st = self._style
        base = st("", cursor)
        muted = st("waterfall--muted", cursor)
        error = st("waterfall--error", cursor)
        svc = st(f"waterfall--svc-{row.color % PALETTE_SIZE}", cursor)
        if node in self.matches:
            name_style = st("waterfall--match", cursor)
        elif row.error:
            name_style = error
        elif row.critical:
            name_style = st("waterfall--critical", cursor)
        else:
            name_style = base
        indent = min(row.depth * 2, max(label_w // 2 - 2, 0))
        marker = ("▸ " if row.collapsed else "▾ ") if row.has_children else "  "
        pieces: list[tuple[str, Style]] = [(" " * indent, base), (marker, muted)]
        if row.orphan:
            pieces.append(("~", muted))
        if row.error:
            pieces.append(("! ", error))
        parent = wf.parent[node]
        if self._narrow and parent >= 0 and wf.spans[parent].service == row.span.service and not row.orphan:
            # Narrow: a span of its parent's service shows only its operation, in the service's colour.
            if name_style is base:
                name_style = svc
            elif name_style is st("waterfall--critical", cursor):
                name_style = svc + self.get_component_rich_style("waterfall--critical", partial=True)
            pieces.append((row.name.expandtabs(1), name_style))
        else:
            # Tabs survive sanitising (they are harmless as text) but would move the terminal's
            # cursor to the next tab stop in a painted line: one space each.
            pieces += [(row.service.expandtabs(1), svc), (" ", base), (row.name.expandtabs(1), name_style)]
        if row.collapsed:
            pieces.append((f" +{row.hidden}", muted))
            if row.subtree_errors:
                pieces.append((f" {row.subtree_errors}!", error))
        segments = _fit(pieces, label_w, base)
        segments.append(Segment(" ", base))
        if dur_w:
            dur_style = st("waterfall--critical", cursor) if row.critical else muted
            segments += _fit([(row.duration.rjust(dur_w), dur_style)], dur_w, base)
            segments.append(Segment(" ", base))
        segments += self._track(row, track_w, cursor, show_duration=not dur_w)
        return Strip(segments, width)

    def _track(self, row: Row, width: int, cursor: bool, *, show_duration: bool) -> list[Segment]:
        """The bar on the time axis, ``━`` where the span is the critical path's bottleneck,
        ``◂``/``▸`` where it continues outside the (zoomed) view, then ``!`` for an error and,
        when there is no duration column, the duration: after the bar, else before it."""
        st = self._style
        base = st("", cursor)
        bar = row.bar
        if not bar.visible:
            arrow = "◂" if bar.outside == "left" else "▸"
            text = " " * (width - 1) + arrow if bar.outside == "right" else arrow + " " * (width - 1)
            return [Segment(text[:width], st("waterfall--edge", cursor))]
        a, b = bar.start, bar.end
        bar_style = st(f"waterfall--bar-{row.color % PALETTE_SIZE}", cursor)
        line_style = bar_style + self.get_component_rich_style("waterfall--crit-line", partial=True)
        cells = [" "] * (b - a)
        crit = [False] * (b - a)
        for ca, cb in row.critical_cols:
            for c in range(max(ca, a), min(cb, b)):
                crit[c - a] = True
                cells[c - a] = "━"
        if bar.clipped_left:
            cells[0] = "◂"
        if bar.clipped_right:
            cells[-1] = "▸"
        bar_segments: list[Segment] = []
        k = 0
        while k < len(cells):  # runs of one style
            on = crit[k]
            j = k
            while j < len(cells) and crit[j] == on:
                j += 1
            bar_segments.append(Segment("".join(cells[k:j]), line_style if on else bar_style))
            k = j
        label: list[Segment] = []
        if row.error:
            label.append(Segment("!", st("waterfall--error", cursor)))
        if show_duration:
            label.append(Segment((" " if label else "") + row.duration, st("waterfall--muted", cursor)))
        size = sum(len(seg.text) for seg in label)
        tail = width - b
        if label and tail > size:
            out = [Segment(" " * a, base), *bar_segments, Segment(" ", base), *label, Segment(" " * (tail - size - 1), base)]
        elif label and a > size:
            out = [Segment(" " * (a - size - 1), base), *label, Segment(" ", base), *bar_segments, Segment(" " * tail, base)]
        else:
            out = [Segment(" " * a, base), *bar_segments, Segment(" " * tail, base)]
        return [seg for seg in out if seg.text]
