"""The 3am screen: is it bad, and where? Golden signals per service beside the alerts."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from oncall_tui.clients.errors import clean_message
from oncall_tui.core.budget import BURN_HELP
from oncall_tui.core.filtering import matches_filter
from oncall_tui.core.grouping import DEFAULT_GROUP_BY, AlertGroup, alert_key, group_alerts
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.core.target import DrillTarget, target_for_alert, target_for_service
from oncall_tui.core.triage import TriageAlert, format_age
from oncall_tui.screens.shell import DataLoaded, OpenService, ShellAccess, header_state
from oncall_tui.widgets.footer import KeyHints
from oncall_tui.widgets.header import StatusHeader, update_if_changed
from oncall_tui.widgets.keys import CURSOR_BINDINGS, TIME_RANGE_BINDINGS, CursorKeys
from oncall_tui.widgets.tables import AlertsTable, SignalsTable

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from oncall_tui.clients.session import BackendSession, TriageData


class TriageScreen(CursorKeys, ShellAccess, Screen):
    """Header, signals table (worst first), alerts table, filter line, footer."""

    BINDINGS = [
        Binding("ctrl+r", "refresh_now", "Refresh", show=False, id="refresh"),
        Binding("Z", "toggle_pause", "Pause", id="pause"),
        *TIME_RANGE_BINDINGS,
        Binding("/", "filter", "Filter", id="filter"),
        Binding("space", "narrow", "Only this service", show=False, id="narrow"),
        Binding("enter", "drill", "Detail", id="drill"),
        # A Screen has no action_focus_next (only App does): "focus_next" here did nothing, so
        # no alert could be selected by keyboard. The two tables swap focus explicitly.
        Binding("tab", "next_pane", "Next table", show=False, id="next-pane"),
        Binding("shift+tab", "next_pane", "Previous table", show=False, id="previous-pane"),
        *CURSOR_BINDINGS,
        Binding("escape", "clear", "Clear", show=False, id="clear"),
        Binding("S", "app.silence_alert", "Silence", show=False, id="silence"),
        Binding("A", "app.ack_alert", "Ack", show=False, id="ack"),
        Binding("R", "app.rollback", "Rollback", show=False, id="rollback"),
        Binding("N", "app.annotate", "Annotate", show=False, id="annotate"),
    ]

    #: Shown under "Columns" in the ``?`` overlay.
    HELP_NOTES = (BURN_HELP,)

    DEFAULT_CSS = """
    TriageScreen { layout: vertical; }
    TriageScreen #problems { height: auto; max-height: 3; color: $source-down; padding: 0 1; }
    TriageScreen #problems.hidden { display: none; }
    TriageScreen SignalsTable { height: auto; max-height: 45%; }
    TriageScreen #alerts-title { height: 1; background: $panel; color: $foreground; padding: 0 1; text-style: bold; }
    TriageScreen AlertsTable { height: 1fr; }
    TriageScreen #filter { dock: bottom; display: none; }
    TriageScreen #filter.visible { display: block; }
    TriageScreen .stale { opacity: 70%; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.data: TriageData | None = None
        #: Why the last refresh failed inside the app (a bug, not a backend): shown on screen.
        self.refresh_error: str | None = None
        self._pending_kinds: set[str] = set()
        self._pending_paint: object | None = None
        self._delivery = 0
        self._dropped_kinds: set[str | None] = set()
        self.narrow_to: str | None = None
        #: Alert groups open in the alerts table (their keys); the rows shown by key.
        self.expanded: set[str] = set()
        self._groups: dict[str, AlertGroup] = {}
        self._alerts_by_key: dict[str, TriageAlert] = {}
        self.filters: dict[str, str] = {"signals": "", "alerts": ""}
        self._filter_target = "signals"

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static("", id="problems", classes="hidden", markup=False)
        yield SignalsTable(id="signals", cursor_type="row", zebra_stripes=False)
        yield Static("", id="alerts-title", markup=False)
        yield AlertsTable(id="alerts", cursor_type="row")
        yield Input(placeholder="filter: text, !text (inverse), label=value — enter keeps, esc clears", id="filter")
        yield KeyHints()

    def cursor_table(self) -> DataTable:
        return self._table()

    def on_mount(self) -> None:
        self.query_one(SignalsTable).focus()
        self.render_header()
        self.refresh_data()  # the first refresh: every backend together, one paint
        if self.shell.periodic_refresh:
            self.start_loops()
            # The header's ages tick every second: a hung backend's badge moves to SLOW while
            # nothing answers.
            self.set_interval(1.0, self.render_header)

    def context_switched(self) -> None:
        """The app switched context: forget the old data, start the new session's loops."""
        self.data = None
        self.render_header()
        if self.shell.periodic_refresh:
            self.start_loops()  # the old session's loops end with it
        self.refresh_data()

    # ------------------------------------------------------------------- data --
    @work(exclusive=True, group="triage-refresh", exit_on_error=False, description="triage refresh")
    async def refresh_data(self) -> None:
        """Refresh every backend now (``ctrl+r``, a new time range, the first load) and paint
        once. A backend whose loop is mid-request is left to that loop, which paints it."""
        incident = self.incident
        session = incident.session

        # The responder asked now: a Retry-After wait does not hold a manual refresh back.
        await asyncio.gather(*(session.refresh(kind, self.shell.time_range, if_idle=True, force=True) for kind in session.backends))
        await self._deliver(session, None)

    def start_loops(self) -> None:
        """One refresh loop per backend: its own interval, timeout and retries."""
        session = self.incident.session
        for kind in session.backends:
            self.run_worker(self._loop(session, kind), group=f"loop-{kind}", exclusive=True, exit_on_error=False, description=f"{kind} refresh loop")

    async def _loop(self, session: BackendSession, kind: str) -> None:
        # The first refresh is refresh_data's (all backends together: the first frame shows
        # the worst service on top); the loop takes over one interval later.
        await asyncio.sleep(self.shell.refresh_seconds)
        while self.incident.session is session:  # a context switch ends it
            started = time.monotonic()
            if not self.shell.paused:
                await session.refresh(kind, self.shell.time_range)
                if self.incident.session is not session:
                    return
                self._deliver_soon(session, kind)
            await asyncio.sleep(max(self.shell.refresh_seconds - (time.monotonic() - started), 0.5))

    def _deliver_soon(self, session: BackendSession, kind: str) -> None:
        """Paint within 100 ms: backends answering together (the loops start together) cost one
        paint, not one each; a backend answering alone is shown as soon."""
        self._pending_kinds.add(kind)
        if self._pending_paint is None:

            def flush() -> None:
                kinds, self._pending_kinds, self._pending_paint = self._pending_kinds, set(), None
                kind = next(iter(kinds)) if len(kinds) == 1 else None
                self.run_worker(self._deliver(session, kind), group="triage-paint", exit_on_error=False, description="triage paint")

            self._pending_paint = self.set_timer(0.1, flush)

    async def _deliver(self, session: BackendSession, kind: str | None) -> None:
        """Show what the backends last delivered (a bug here shows on screen, never blanks it).

        The view is assembled in a thread (5,000 alerts merged and ordered): keys pressed
        meanwhile are answered. Of two deliveries in flight only the newer paints (it holds
        everything the older one would have shown)."""
        if self.incident.session is not session:
            return
        self._delivery += 1
        mine = self._delivery
        try:
            data = await asyncio.to_thread(session.assemble, self.shell.time_range)
            if mine != self._delivery or self.incident.session is not session:
                self._dropped_kinds.add(kind)
                return
            if self._dropped_kinds:
                kind = None if len(self._dropped_kinds | {kind}) > 1 else kind
                self._dropped_kinds = set()
            self.data = data
            self.render_data()
            self.post_message(DataLoaded(data, kind))
        except Exception as exc:  # noqa: BLE001 - a bug must show on screen, not blank the triage
            log.exception("triage refresh failed")
            self.refresh_error = f"triage refresh failed: {type(exc).__name__}: {clean_message(exc)} (the data shown may be old)"
            self.render_header()
        else:
            if self.refresh_error is not None:
                self.refresh_error = None
                self.render_header()

    def render_data(self) -> None:
        self.render_header()
        data = self.data
        if data is None:
            return
        width = self.size.width or self.app.size.width
        color = self.shell.theme_color
        rows = [r for r in data.rows if matches_filter(self.filters["signals"], r.service, {"service": r.service, "preset": r.preset or ""})]
        self.query_one(SignalsTable).show_rows(rows, width=width, color=color)
        alerts = data.alerts if self.narrow_to is None else [a for a in data.alerts if a.service == self.narrow_to]
        if self.filters["alerts"]:
            alerts = [a for a in alerts if matches_filter(self.filters["alerts"], f"{a.name} {a.summary} {a.state_detail}", a.labels)]
        groups = group_alerts(alerts, self.group_by())
        self._groups = {g.key: g for g in groups if len(g) > 1}
        self._alerts_by_key = {alert_key(a): a for a in alerts}
        self.expanded &= self._groups.keys()
        table = self.query_one(AlertsTable)
        table.show_groups(groups, self.expanded, now=datetime.fromtimestamp(data.fetched_at, UTC), width=width, color=color)
        firing = sum(1 for a in data.alerts if a.state == "firing")
        scope = f" for {sanitize_for_display(self.narrow_to, max_chars=64)} (space: all)" if self.narrow_to else ""
        extra = f" · filter {self.filters['alerts']!r}" if self.filters["alerts"] else ""
        grouped = f" in {len(groups):,} groups (→ expands)" if self._groups else ""
        update_if_changed(self.query_one("#alerts-title", Static), f"ALERTS{scope}: {firing:,} firing, {len(alerts):,} shown{grouped}{extra}")

    def group_by(self) -> tuple[str, ...]:
        """``alerts.group_by`` from the config, else the Alertmanager route's, else the default."""
        configured = self.incident.settings.alerts.group_by
        return tuple(configured) if configured else self.incident.session.route_group_by or DEFAULT_GROUP_BY

    def selected_group(self) -> AlertGroup | None:
        """The group under the cursor, when the cursor is on a group row (not one of its alerts)."""
        table = self._table()
        return self._groups.get(table.selected_key or "") if isinstance(table, AlertsTable) else None

    def action_expand_group(self) -> None:
        group = self.selected_group()
        if group is not None and group.key not in self.expanded:
            self.expanded.add(group.key)
            self.render_data()

    def action_collapse_group(self) -> None:
        """``←``: on a group, close it; on one of its alerts, close its group and select it."""
        table = self.query_one(AlertsTable)
        key = table.selected_key or ""
        group = self._groups.get(key) or next((g for g in self._groups.values() if g.key in self.expanded and any(alert_key(a) == key for a in g.alerts)), None)
        if group is not None and group.key in self.expanded:
            self.expanded.discard(group.key)
            self.render_data()
            table.move_cursor(row=table.get_row_index(group.key))

    def render_header(self) -> None:
        incident = self.incident
        now = incident.clock()
        self.query_one(StatusHeader).show(header_state(self.shell))
        problems = [
            f"{name} {incident.session.url_of(name)}: {src.error}"
            + (f" (last good data {format_age(src.age(now))} ago)" if src.last_ok else "")
            for name, src in incident.session.sources.items()
            if src.error
        ]
        if self.refresh_error is not None:
            problems.insert(0, self.refresh_error)
        if self.data is not None:
            # Prometheus "partial result" warnings and clock skew (R4.3, R4.6).
            problems += [f"⚠ {w}" for w in dict.fromkeys(self.data.warnings)][:3]
        # Each table is dimmed while its backend's data is not live (down, stale, retrying...).
        for kind, table in (("prometheus", SignalsTable), ("alertmanager", AlertsTable)):
            src = incident.session.sources.get(kind)
            live = src is None or (src.status(now) in ("fresh", "loading", "slow") and (src.age(now) or 0) <= src.stale_after)
            self.query_one(table).set_class(not live, "stale")
        box = self.query_one("#problems", Static)
        update_if_changed(box, "\n".join(sanitize_for_display(p, max_chars=300) for p in problems))
        box.set_class(not problems, "hidden")

    def on_resize(self) -> None:
        self.render_data()

    # ---------------------------------------------------------------- actions --
    def action_refresh_now(self) -> None:
        self.refresh_data()

    def action_toggle_pause(self) -> None:
        self.shell.paused = not self.shell.paused
        self.render_header()

    def _table(self) -> DataTable:
        focused = self.focused
        return focused if isinstance(focused, DataTable) else self.query_one(SignalsTable)

    def action_next_pane(self) -> None:
        """``tab``/``shift+tab``: signals ⇄ alerts (the filter line, when open, is left first)."""
        target = SignalsTable if isinstance(self.focused, AlertsTable) else AlertsTable
        self.query_one(target).focus()

    def selected_alert(self) -> TriageAlert | None:
        """The alert under the cursor; on a group row the group as one alert (its common labels:
        a silence or ack of it covers every member)."""
        table = self._table()
        if not isinstance(table, AlertsTable) or self.data is None:
            return None
        key = (table.selected_key or "").rstrip("'")
        group = self._groups.get(key)
        return group.as_alert() if group is not None else self._alerts_by_key.get(key)

    def selected_service(self) -> str | None:
        table = self._table()
        if isinstance(table, SignalsTable):
            return table.selected_key
        alert = self.selected_alert()
        return alert.service if alert else None

    def selected_target(self) -> DrillTarget | None:
        """The selected alert (its labels and window) or service (the screen's range)."""
        now = self.incident.clock()
        alert = self.selected_alert()
        if alert is not None:
            return target_for_alert(alert, now)
        service = self.selected_service()
        if service is None:
            return None
        start, end, _ = self.shell.time_range.window(now)
        return target_for_service(service, start, now if self.shell.time_range.live else end)

    def action_narrow(self) -> None:
        service = self.query_one(SignalsTable).selected_key
        self.narrow_to = None if self.narrow_to or service is None else service
        self.render_data()

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        # DataTable consumes enter itself (select_cursor); treat its selection as drill-in.
        self.action_drill()

    def action_drill(self) -> None:
        """``enter``: on an alert, the alert in full; on a service, its charts."""
        group = self.selected_group()
        if group is not None:
            if group.key in self.expanded:
                self.action_collapse_group()
            else:
                self.action_expand_group()
            return
        alert = self.selected_alert()
        if alert is not None:
            from oncall_tui.screens.alert import AlertDetailScreen

            self.app.push_screen(AlertDetailScreen(alert, datetime.fromtimestamp(self.incident.clock(), UTC)))
            return
        service = self.selected_service()
        if service:
            self.post_message(OpenService(service))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        target = "alerts" if isinstance(self.focused, AlertsTable) else "signals"
        box.value = self.filters[target]
        box.placeholder = f"filter {target}: text, !text (inverse), label=value — enter keeps, esc clears"
        box.add_class("visible")
        box.focus()
        self._filter_target = target

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filters[self._filter_target] = event.value
        self.render_data()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("visible")
        self.query_one(AlertsTable if self._filter_target == "alerts" else SignalsTable).focus()

    def action_clear(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("visible") or any(self.filters.values()) or self.narrow_to:
            self.filters = {"signals": "", "alerts": ""}
            self.narrow_to = None
            box.value = ""
            box.remove_class("visible")
            self.query_one(SignalsTable).focus()
            self.render_data()

