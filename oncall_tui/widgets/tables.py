"""The two triage tables: golden signals per service, and the alerts.

Both are ``DataTable``s fed with :class:`~oncall_tui.widgets.display.DisplayText` cells (never markup strings: label values
and annotations come from the backends). A refresh updates only cells whose text changed, so
an idle screen writes almost nothing to the terminal; the cursor stays on the same row key.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from textual.binding import Binding
from textual._two_way_dict import TwoWayDict
from textual.coordinate import Coordinate
from textual.widgets.data_table import ColumnKey, RowKey

from oncall_tui.core import format as fmt
from oncall_tui.core.grouping import STATE_ORDER, AlertGroup, alert_key
from oncall_tui.core.sparkline import sparkline
from oncall_tui.core.triage import SignalRow, TriageAlert, format_age
from oncall_tui.widgets.display import (
    DisplayText,
    SafeTable,
    check_display,
    clipped,
    display,
)
from oncall_tui.widgets.keys import ALERT_ACTIONS, action_bindings

Colors = Callable[[str], str]
SPARK = 8
#: Above this share of the table's cells changed, one whole repaint is cheaper than many regions.
FULL_REPAINT_SHARE = 0.5


class DiffTable(SafeTable):
    """A DataTable that redraws only what changed between two renders of the same rows.

    The cursor row keeps its cells' own colours (a red error rate stays red when selected).
    """

    DEFAULT_CSS = """
    DiffTable > .datatable--cursor { background: $boost; text-style: bold; }
    DiffTable:focus > .datatable--cursor { background: $primary 35%; }
    """

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("cursor_foreground_priority", "renderable")
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def set_table(self, columns: Sequence[tuple[str, int | None]], rows: Sequence[tuple[str, list[DisplayText]]]) -> None:
        """Show ``rows`` (key, cells): a row whose cells list is the very one shown last time is
        not compared; a changed cell repaints alone; a new order or column set rebuilds."""
        last: dict[str, list[DisplayText]] = getattr(self, "_last_cells", {})
        self._last_cells = dict(rows)
        wanted = [label for label, _ in columns]
        current_rows = [str(r.key.value) for r in self.ordered_rows]
        # A change of column set *or widths* (a resize, a longer alert name) rebuilds the columns.
        new_columns = list(columns) != getattr(self, "_column_spec", None)
        wanted_rows = [key for key, _ in rows]
        if not new_columns and current_rows != wanted_rows and len(current_rows) == len(wanted_rows) and set(current_rows) == set(wanted_rows):
            self._reorder(wanted, rows, last)
            return
        if new_columns or current_rows != wanted_rows:
            selected = self._selected_key()
            self.clear(columns=new_columns)
            self._column_spec = list(columns)
            if new_columns:
                for label, width in columns:
                    self.add_column(display(label, style="bold"), key=label, width=width)
            for key, cells in rows:
                self.add_row(*cells, key=key)
            if selected is not None and selected in [k for k, _ in rows]:
                self.move_cursor(row=self.get_row_index(selected))
            return
        changed: list[Coordinate] = []
        for row_index, (key, cells) in enumerate(rows):
            if last.get(key) is cells:
                continue
            for col_index, (label, cell) in enumerate(zip(wanted, cells, strict=True)):
                if self.get_cell(key, label) != cell:
                    check_display(cell, "a table cell")
                    # update_cell() would repaint the whole table for each cell.
                    self._data[RowKey(key)][ColumnKey(label)] = cell
                    changed.append(Coordinate(row_index, col_index))
        if not changed:
            return
        self._update_count += 1
        visible_cells = min(len(rows), max(self.size.height - 1, 1)) * len(wanted)
        if len(changed) > FULL_REPAINT_SHARE * visible_cells:
            self.refresh()  # one repaint beats many small regions when most of it moved
        else:
            for where in changed:
                # Only the changed cells reach the terminal; the rest of the line is not resent.
                self.refresh_coordinate(where)

    def _reorder(self, labels: list[str], rows: Sequence[tuple[str, list[DisplayText]]], last: dict[str, list[DisplayText]]) -> None:
        """The same rows in a new order (a service got worse): cells updated in place and the
        rows moved, not rebuilt; the cursor stays on its row's key."""
        selected = self._selected_key()
        for key, cells in rows:
            if last.get(key) is cells:
                continue
            stored = self._data[RowKey(key)]
            for label, cell in zip(labels, cells, strict=True):
                if stored[ColumnKey(label)] != cell:
                    check_display(cell, "a table cell")
                    stored[ColumnKey(label)] = cell
        self._row_locations = TwoWayDict({RowKey(key): index for index, (key, _) in enumerate(rows)})
        self._update_count += 1
        self.refresh()
        if selected is not None:
            self.move_cursor(row=self.get_row_index(selected))

    def _selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 - an empty or shrinking table has no cursor row
            return None

    @property
    def selected_key(self) -> str | None:
        return self._selected_key()


class SignalsTable(DiffTable):
    """Golden signals, one row per service, worst first."""

    # Shown in the key line while this table has focus (ids shared with the app's bindings,
    # so a remap in the config's keymap applies here too).
    BINDINGS = [
        Binding("enter", "select_cursor", "Detail", id="drill"),
        *action_bindings([a for a in ALERT_ACTIONS if a[0] in "lxu"]),
        Binding("R", "app.rollback", "Rollback", id="rollback"),
    ]

    def show_rows(self, rows: Sequence[SignalRow], *, width: int, color: Colors) -> None:
        wide = width >= 110
        columns: list[tuple[str, int | None]] = [("SERVICE", 18 if wide else 15), ("RPS", 6)]
        if width >= 140:
            columns.append(("RPS~", SPARK))
        columns += [("ERR", 6), ("ERR~", SPARK)]
        if wide:
            columns += [("P50", 6), ("P95", 6)]
        columns.append(("P99", 6))
        if width >= 78:
            columns.append(("P99~", SPARK))
        columns.append(("SAT", 5))
        if wide:
            columns += [("SAT~", SPARK), ("BURN", 5), ("ALERTS", 6)]
        # Cells of the last render by what they show: a sparkline whose trend did not move, or a
        # value whose text and style did not change (most of them, even with every value
        # moving: "12.3" stays "12.3"), is the same cell object again, not a new Text.
        last: dict[tuple[object, ...], DisplayText] = getattr(self, "_sparks", {})
        self._sparks = {}
        cells = [(r.service, self._cells(r, wide, width >= 140, width >= 78, color, last, self._sparks)) for r in rows]
        self.set_table(columns, cells)

    @staticmethod
    def _cells(
        r: SignalRow,
        wide: bool,
        traffic_trend: bool,
        p99_trend: bool,
        color: Colors,
        last_sparks: dict[tuple[object, ...], DisplayText] | None = None,
        sparks: dict[tuple[object, ...], DisplayText] | None = None,
    ) -> list[DisplayText]:
        def lvl(name: str) -> str:
            level = r.levels.get(name, "ok")
            return "" if level == "ok" else f"bold {color('level-' + level)}"

        def spark(signal: str, name: str | None = None) -> DisplayText:
            style = color("sparkline-high") if name and r.levels.get(name, "ok") != "ok" else color("sparkline-low")
            history = r.history.get(signal, [])
            # The trends move once per range step, not every refresh: an unchanged one is reused.
            key = (r.service, signal, style, tuple(history), r.spark_scale.get(signal))
            cell = last_sparks.get(key) if last_sparks is not None else None
            if cell is None:
                cell = display(sparkline(history, SPARK, scale=r.spark_scale.get(signal)), style=style)
            if sparks is not None:
                sparks[key] = cell
            return cell

        def text(value: str, style: str = "", *, clip: bool = False) -> DisplayText:
            key = ("clip" if clip else "text", value, style)
            cell = last_sparks.get(key) if last_sparks is not None else None
            if cell is None:
                cell = clipped(value, limit=64, style=style) if clip else display(value, style=style)
            if sparks is not None:
                sparks[key] = cell
            return cell

        v = r.values
        worst = r.worst_level
        name_style = f"bold {color('level-' + worst)}" if worst != "ok" else ""
        cells = [text(r.service, name_style, clip=True), text(fmt.rate(v["traffic"]))]
        if traffic_trend:
            cells.append(spark("traffic"))
        cells += [text(fmt.percent(v["errors"]), lvl("errors")), spark("errors", "errors")]
        if wide:
            cells += [text(fmt.seconds(v["latency_p50"])), text(fmt.seconds(v["latency_p95"]))]
        cells.append(text(fmt.seconds(v["latency_p99"]), lvl("latency_p99")))
        if p99_trend:
            cells.append(spark("latency_p99", "latency_p99"))
        cells.append(text(fmt.saturation(v["saturation"], r.saturation_unit), lvl("saturation")))
        if wide:
            cells += [
                spark("saturation", "saturation"),
                text(fmt.burn(r.burn_rate), lvl("burn")),
                text(str(r.firing_alerts) if r.firing_alerts else ""),
            ]
        return cells


class AlertsTable(DiffTable):
    """Alert groups (karma's model) and their alerts, worst first: a group of one is its alert;
    a bigger group is one row (counts by state, severity, the oldest member's age) that
    ``enter``/``→`` expands into its members and ``←`` collapses.

    Cells are cached per row: an alert that did not change keeps its cells (only its age is
    re-read), so a 5,000-alert refresh that changed little costs little.
    """

    BINDINGS = [
        *action_bindings(ALERT_ACTIONS),
        Binding("enter", "select_cursor", "Detail", id="drill"),
        Binding("right", "screen.expand_group", "Expand group", show=False, id="group-expand"),
        Binding("left", "screen.collapse_group", "Collapse group", show=False, id="group-collapse"),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._rows_cache: dict[str, tuple[tuple[object, ...], list[DisplayText], str]] = {}
        self._palette: dict[str, str] = {}

    def show_groups(self, groups: Sequence[AlertGroup], expanded: Collection[str], *, now: datetime, width: int, color: Colors) -> None:
        wide = width >= 110
        # The name is what a responder reads first and pastes into chat: as wide as the
        # longest one (up to 40 columns when the terminal is wide), the summary gets the rest.
        lengths = [len(g.title) + 6 if len(g) > 1 else len(g.worst.name) for g in groups]
        lengths += [len(a.name) + 4 for g in groups if len(g) > 1 and g.key in expanded for a in g.alerts]
        longest = max(lengths, default=10)
        name_width = max(12, min(longest, 40 if width >= 140 else 30 if wide else 20))
        columns: list[tuple[str, int | None]] = [("SEV", 4), ("ALERT", name_width), ("SERVICE", 15 if wide else 12), ("AGE", 5)]
        columns.append(("STATE", 30 if wide else 14))
        used = sum(w or 0 for _, w in columns) + 2 * (len(columns) + 1) + 2
        columns.append(("SUMMARY", max(width - used, 10)))
        palette = {name: color(name) for name in _PALETTE_NAMES}
        if palette != self._palette:
            self._palette, self._rows_cache = palette, {}
        rows: list[tuple[str, list[DisplayText]]] = []
        seen: set[str] = set()

        def add(key: str, cells: list[DisplayText]) -> None:
            while key in seen:
                key += "'"
            seen.add(key)
            rows.append((key, cells))

        for group in groups:
            if len(group) == 1:
                add(alert_key(group.worst), self._alert_cells(alert_key(group.worst), group.worst, now, member=False))
                continue
            is_open = group.key in expanded
            add(group.key, self._group_cells(group, now, is_open))
            if is_open:
                for alert in group.alerts:
                    add(alert_key(alert), self._alert_cells(alert_key(alert), alert, now, member=True))
        self._rows_cache = {key: self._rows_cache[key] for key, _ in rows if key in self._rows_cache}
        self.set_table(columns, rows)

    def _cached(self, key: str, signature: tuple[object, ...], age: str, build: Callable[[], list[DisplayText]]) -> list[DisplayText]:
        hit = self._rows_cache.get(key)
        if hit is not None and hit[0] == signature:
            cells = hit[1]
            if hit[2] != age:
                cells = [*cells[:3], clipped(age, limit=8, style=cells[3].style), *cells[4:]]
                self._rows_cache[key] = (signature, cells, age)
            return cells
        cells = build()
        self._rows_cache[key] = (signature, cells, age)
        return cells

    def _sev(self, severity: str) -> DisplayText:
        style = f"bold {self._palette['severity-' + severity]}" if severity in _SEVERITIES else ""
        # The label is cut to four characters *after* it is made visible: "\x1b[2J" shows as
        # "\X1B", never as a screen wipe.
        return display(display(severity).plain[:4].upper(), style=style)

    def _alert_cells(self, key: str, a: TriageAlert, now: datetime, *, member: bool) -> list[DisplayText]:
        age = format_age(a.age(now))
        signature = (a.severity, a.name, a.service, a.state, a.state_detail, a.summary, member)

        def build() -> list[DisplayText]:
            muted = a.state in ("silenced", "inhibited")
            base = "dim" if muted else ""
            return [
                self._sev(a.severity),
                clipped(("  · " if member else "") + a.name, limit=128, style=base),
                clipped(a.service or "–", limit=64, style=base),
                clipped(age, limit=8, style=base),
                clipped(a.state_detail, limit=200, style=self._palette.get("state-" + a.state, "")),
                clipped(a.summary, limit=300, style=base),
            ]

        return self._cached(key, signature, age, build)

    def _group_cells(self, group: AlertGroup, now: datetime, is_open: bool) -> list[DisplayText]:
        # The same members (the session keeps unchanged alerts as the same objects, so the
        # comparison is by identity first) mean the same row: only its age is read again.
        signature = (is_open, tuple(group.alerts))
        age = format_age(group.oldest(now))

        def build() -> list[DisplayText]:
            worst = group.worst
            states = group.counts("state")
            severities = ", ".join(f"{n} {sev}" for sev, n in group.counts("severity"))
            services = {a.service for a in group.alerts}
            service = group.group_labels.get("service") or (worst.service if len(services) == 1 else f"{len(services)} services")
            return [
                self._sev(worst.severity),
                clipped(f"{'▾' if is_open else '▸'} {group.title} ×{len(group)}", limit=140, style="bold"),
                clipped(service or "–", limit=64),
                clipped(age, limit=8),
                clipped(" · ".join(f"{n} {state}" for state, n in states), limit=200, style=self._palette.get("state-" + states[0][0], "")),
                clipped(f"{severities} — {worst.summary}", limit=300),
            ]

        return self._cached(group.key, signature, age, build)


_SEVERITIES = ("critical", "error", "warning", "info")
_PALETTE_NAMES = (*(f"severity-{s}" for s in _SEVERITIES), *(f"state-{s}" for s in STATE_ORDER))
