"""The GPU view (``:gpu [NODE]``, ``u`` from an alert or service, ``4``).

Top to bottom: the status header (context, range, a ``dcgm`` badge with the fleet data's age or
DOWN/STALE, an ``nvml`` badge), the fleet line (what is shown, freshness, ``a`` to widen), the
fleet table from dcgm-exporter (worst first), a dim note when counter families are not
exported, the local GPUs read through NVML on this host (and the processes of the selected
one), and a detail pane for the selected fleet GPU: what its last XID means and what to do,
its labels, and util/memory/temperature/power charts over the app's time range with the PromQL
behind each.

Workers fetch, the screen renders: the fleet through ``DrillDown.fleet`` (Prometheus), local
GPUs through ``DrillDown.local_gpus`` in a thread (NVML calls block), history through
``PrometheusClient.query_range``. When Prometheus fails, the last good fleet stays on screen,
dimmed and marked STALE with the reason. Every label value, device name, user name and command
line is untrusted: sanitised and shown as ``Text``, never markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Static

from oncall_tui.clients.drill import FleetData
from oncall_tui.clients.errors import BackendError
from oncall_tui.clients.nvml import (
    NA,
    NA_TEXT,
    LocalGpuSnapshot,
    show,
)
from oncall_tui.core.gpu.dcgm import missing_counters_note
from oncall_tui.core.gpu.fleet import FleetGpu, filter_node, fleet_nodes
from oncall_tui.core.gpu.history import gpu_history_queries
from oncall_tui.core.target import DrillTarget
from oncall_tui.core.triage import SourceState, format_age
from oncall_tui.screens.gpu_panes import (
    CHARTS,
    LOCAL_COLUMNS,
    clean,
    fleet_gpu_facts,
    local_gpu_cells,
    processes_sorted,
    xid_text,
)
from oncall_tui.screens.shell import ShellAccess, header_state
from oncall_tui.text.sanitize import MAX_LABEL_VALUE, sanitize_for_display
from oncall_tui.widgets.chart import render_chart
from oncall_tui.widgets.display import clipped
from oncall_tui.widgets.footer import KeyHints
from oncall_tui.widgets.gpu import CellTable, FleetTable, fleet_row_key
from oncall_tui.widgets.header import (
    SourceBadge,
    StatusHeader,
    update_if_changed,
)
from oncall_tui.widgets.keys import CURSOR_BINDINGS

#: Points per history chart (like the service detail view).
HISTORY_POINTS = 120
#: Seconds the cursor must rest on a fleet row before its history is fetched.
HISTORY_DEBOUNCE = 0.15
CHART_HEIGHT = 8
GIB = 2**30


class GpuScreen(ShellAccess, Screen):
    """Local GPUs (NVML) and the dcgm-exporter fleet; ``node``/``service`` narrow the fleet."""

    #: The app's ``l``/``x`` keys use a screen's ``drill_target``; this screen has none.
    drill_target: DrillTarget | None = None

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("q", "back", "Back", show=False, id="back-q"),
        Binding("ctrl+r", "refresh_now", "Refresh", id="refresh"),
        Binding("enter", "focus_detail", "Detail", id="gpu-detail"),
        Binding("a", "toggle_all", "All GPUs", id="gpu-all"),
        Binding("tab", "next_pane", "Next table", id="next-pane"),
        Binding("u", "service_gpus", "GPUs of service", show=False, id="gpu"),
        Binding("4", "next_pane(0)", "Fleet", show=False, id="screen-gpu"),
        *CURSOR_BINDINGS,
    ]

    DEFAULT_CSS = """
    GpuScreen { layout: vertical; }
    GpuScreen .section { height: 1; background: $panel; color: $foreground; text-style: bold; padding: 0 1; }
    GpuScreen #problems { height: auto; max-height: 2; color: $source-down; padding: 0 1; }
    GpuScreen #fleet { height: auto; max-height: 40%; }
    GpuScreen #missing { height: auto; max-height: 2; color: $foreground-muted; text-style: dim; padding: 0 1; }
    GpuScreen #local-none { height: 1; color: $foreground-muted; text-style: dim; padding: 0 1; }
    GpuScreen #local { height: auto; max-height: 25%; scrollbar-size-horizontal: 1; }
    GpuScreen #procs-title { height: 1; color: $foreground-muted; padding: 0 1; }
    GpuScreen #procs { height: auto; max-height: 15%; }
    GpuScreen #detail { height: 1fr; min-height: 3; border-top: solid $panel; }
    GpuScreen #detail:focus { border-top: solid $primary; }
    GpuScreen #detail Static { padding: 0 1; }
    GpuScreen #gpu-title { text-style: bold; }
    GpuScreen #gpu-labels { color: $foreground-muted; padding: 0 1 1 1; }
    GpuScreen .chart { color: $foreground; }
    GpuScreen .promql { color: $foreground-muted; padding: 0 1 1 1; }
    GpuScreen #missing-full { color: $foreground-muted; text-style: dim; }
    GpuScreen .hidden { display: none; }
    GpuScreen .stale { opacity: 70%; }
    """

    def __init__(
        self,
        node: str | None = None,
        service: str | None = None,
        *,
        target: DrillTarget | None = None,
    ) -> None:
        super().__init__()
        labels = dict(target.labels) if target is not None else {}
        if target is not None and service is None and node is None:
            service = target.service
        self.node = node or None
        self.service = service or None
        self.show_all = False
        #: A GPU named by the target's labels (a GPU alert): selected once the fleet arrives.
        self._wanted: dict[str, str] = {
            k: labels[k] for k in ("UUID", "Hostname", "node", "gpu") if labels.get(k)
        }
        self.fleet: FleetData | None = None
        self.fleet_state = SourceState("dcgm")
        self.local: LocalGpuSnapshot | None = None
        self._fleet_key: str | None = None
        self._local_index: int | None = None
        self.history: dict[str, list[float]] = {}
        self.history_errors: dict[str, str] = {}
        self.history_warnings: dict[str, str] = {}
        #: The fleet GPU that ``history``/``history_errors`` belong to.
        self._history_key: str | None = None
        #: (GPU, window) of the last complete fetch: the same pair gives the same answer.
        self._history_for: tuple[str, tuple[float, float, float]] | None = None
        self._timer: Timer | None = None

    # ---------------------------------------------------------------- layout --
    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static("", id="fleet-title", classes="section", markup=False)
        yield Static("", id="problems", classes="hidden", markup=False)
        yield FleetTable(id="fleet", cursor_type="row")
        yield Static("", id="missing", classes="hidden", markup=False)
        yield Static("local GPUs (NVML): reading…", id="local-none", markup=False)
        yield Static("", id="local-title", classes="section hidden", markup=False)
        yield CellTable(id="local", cursor_type="row", classes="hidden")
        yield Static("", id="procs-title", classes="hidden", markup=False)
        yield CellTable(id="procs", cursor_type="row", classes="hidden")
        with VerticalScroll(id="detail"):
            yield Static("", id="gpu-title", markup=False)
            yield Static("", id="gpu-xid", markup=False)
            yield Static("", id="gpu-summary", markup=False)
            yield Static("", id="gpu-labels", markup=False)
            for key, *_ in CHARTS:
                yield Static("", id=f"chart-{key}", classes="chart", markup=False)
                yield Static("", id=f"promql-{key}", classes="promql", markup=False)
            yield Static("", id="missing-full", markup=False)
        yield KeyHints()

    def on_mount(self) -> None:
        self.fleet_state.stale_after = max(2 * self.shell.refresh_seconds, 5.0)
        self.query_one(FleetTable).focus()
        self.render_all()
        self.refresh_all()
        if self.shell.periodic_refresh:
            self._timer = self.set_interval(self.shell.refresh_seconds, self._tick)

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()  # polling stops while another screen is on top (R7.2)

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()

    def on_resize(self) -> None:
        self.render_fleet()
        self.render_local()
        self.render_detail()

    # ------------------------------------------------------------------ data --
    def _tick(self) -> None:
        if self.shell.paused:
            self.render_header()
            return
        self.refresh_all()

    def refresh_all(self) -> None:
        self.load_fleet()
        self.load_local()

    def _known_services(self) -> list[str]:
        incident = self.incident
        services = incident.last_data.services if incident.last_data is not None else incident.context.services
        return [s.name for s in services]

    @work(exclusive=True, group="gpu-fleet", exit_on_error=False, description="GPU fleet (dcgm-exporter)")
    async def load_fleet(self) -> None:
        incident = self.incident
        try:
            data = await incident.session.drill.fleet(known_services=self._known_services())
        except BackendError as exc:
            self.fleet_state.failed(incident.clock(), exc.badge, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bad reply must never lose the last good grid
            self.fleet_state.failed(incident.clock(), "ERROR", f"dcgm fleet: {type(exc).__name__}")
        else:
            self.fleet = data
            self.fleet_state.ok(incident.clock())
            self._select_wanted(data.gpus)
        self.render_header()
        self.render_fleet()
        self.render_detail()
        self.load_history()

    @work(exclusive=True, group="gpu-local", exit_on_error=False, description="local GPUs (NVML)")
    async def load_local(self) -> None:
        drill = self.incident.session.drill
        try:
            snap = await asyncio.to_thread(drill.local_gpus)  # NVML calls block
        except Exception as exc:  # noqa: BLE001 - NvmlSource never raises; belt and braces
            snap = LocalGpuSnapshot(available=False, reason=f"NVML poll failed: {type(exc).__name__}")
        self.local = snap
        self.render_header()
        self.render_local()

    @work(exclusive=True, group="gpu-history", exit_on_error=False, description="GPU history")
    async def load_history(self, delay: float = 0.0) -> None:
        """Util/memory/temp/power of the selected fleet GPU over the app's time range."""
        incident = self.incident
        gpu = self.selected_gpu()
        if gpu is None:
            return
        key = fleet_row_key(gpu)
        window = self.shell.time_range.window(incident.clock(), points=HISTORY_POINTS)
        if self._history_for == (key, window):
            return  # same GPU, same evaluation times: same answer
        if delay:
            await asyncio.sleep(delay)  # the cursor may still be moving (exclusive: superseded)
        history: dict[str, list[float]] = {}
        errors: dict[str, str] = {}
        warnings: dict[str, str] = {}
        prometheus = incident.session.prometheus
        try:
            queries = gpu_history_queries(gpu)
        except ValueError as exc:
            queries, errors = {}, {name: str(exc) for name, *_ in CHARTS}
        if prometheus is None:
            errors = {name: "no Prometheus endpoint in this context" for name, *_ in CHARTS}
        elif queries:
            start, end, step = window
            names = [name for name, *_ in CHARTS]
            results = await asyncio.gather(
                *(prometheus.query_range(queries[n], start=start, end=end, step=step) for n in names),
                return_exceptions=True,
            )
            for name, result in zip(names, results, strict=True):
                if isinstance(result, BackendError):
                    errors[name] = str(result)
                elif isinstance(result, BaseException):
                    errors[name] = type(result).__name__
                else:
                    series = getattr(result.data, "result", None) or []
                    history[name] = [p.value for p in series[0].values] if series else []
                    if result.warnings:
                        warnings[name] = "; ".join(result.warnings)
        if self._fleet_key != key:
            return  # the cursor moved on while we waited
        if self._history_key == key:  # a failed refresh keeps the last good lines (R4.1)
            for name in errors:
                if name in self.history:
                    history.setdefault(name, self.history[name])
        self.history, self.history_errors, self.history_warnings = history, errors, warnings
        self._history_key = key
        self._history_for = None if errors else (key, window)
        self.render_detail()

    # ------------------------------------------------------------- selection --
    def visible_gpus(self) -> list[FleetGpu]:
        """The fleet as narrowed by ``node``/``service`` (unless ``a`` showed all of it)."""
        gpus = self.fleet.gpus if self.fleet is not None else []
        if self.show_all:
            return list(gpus)
        if self.node:
            return filter_node(gpus, self.node)
        if self.service:
            return [g for g in gpus if g.service == self.service]
        return list(gpus)

    def selected_gpu(self) -> FleetGpu | None:
        for gpu in self.visible_gpus():
            if fleet_row_key(gpu) == self._fleet_key:
                return gpu
        return None

    def _select_wanted(self, gpus: Sequence[FleetGpu]) -> None:
        """Once: put the cursor on the GPU the target named (and narrow to its service)."""
        wanted, self._wanted = self._wanted, {}
        if not wanted:
            return
        for gpu in gpus:
            if wanted.get("UUID") and gpu.uuid != wanted["UUID"]:
                continue
            host = wanted.get("Hostname") or wanted.get("node")
            if not wanted.get("UUID") and (gpu.node != host or gpu.gpu != wanted.get("gpu")):
                continue
            if not self.service and not self.node:
                self.service = gpu.service or None
                self.node = None if gpu.service else gpu.node
            self._fleet_key = fleet_row_key(gpu)
            return

    def _scope(self) -> tuple[str, str]:
        """(what is shown, what ``a`` does)."""
        if self.node:
            only = f"node {clean(self.node, 64)}"
        elif self.service:
            only = clean(self.service, 64)
        else:
            return "all GPUs", ""
        if self.show_all:
            return "all GPUs", f"a: only {only}"
        return f"GPUs of {only}", "a: all GPUs"

    # ---------------------------------------------------------------- render --
    def render_all(self) -> None:
        self.render_header()
        self.render_fleet()
        self.render_local()
        self.render_detail()

    def render_header(self) -> None:
        incident = self.incident
        now = incident.clock()
        state = self.fleet_state
        badges = [SourceBadge("dcgm", state.status(now), format_age(state.age(now)), state.error or "", label=state.badge(now))]
        local = self.local
        if local is None:
            badges.append(SourceBadge("nvml", "loading", "-"))
        elif local.available:
            badges.append(SourceBadge("nvml", "fresh", f"{len(local.gpus)} GPU"))
        else:
            badges.append(SourceBadge("nvml", "n/a", "-"))
        self.query_one(StatusHeader).show(replace(header_state(self.shell), sources=badges))
        box = self.query_one("#problems", Static)
        problem = ""
        if state.error:
            if state.last_ok is not None:
                problem = f"STALE: {state.error} — showing the fleet as of {format_age(state.age(now))} ago"
            else:
                problem = f"DOWN: {state.error}"
        update_if_changed(box, sanitize_for_display(problem, max_chars=300))
        box.set_class(not problem, "hidden")

    def render_fleet(self) -> None:
        incident = self.incident
        now = incident.clock()
        title = self.query_one("#fleet-title", Static)
        table = self.query_one(FleetTable)
        what, toggle = self._scope()
        hint = f" · {toggle}" if toggle else ""
        if self.fleet is None:
            status = "Prometheus unreachable" if self.fleet_state.error else "loading…"
            update_if_changed(title, f"FLEET (dcgm-exporter) · {what} · {status}{hint}")
            return
        gpus = self.visible_gpus()
        total = len(self.fleet.gpus)
        age = format_age(self.fleet_state.age(now))
        if gpus:
            nodes = len(fleet_nodes(gpus))
            count = f"{len(gpus)} of {total}" if len(gpus) != total else f"{total}"
            text = f"FLEET (dcgm-exporter) · {what}: {count} on {nodes} node{'s' * (nodes != 1)} · {age} ago{hint}"
        elif not total:
            text = f"FLEET (dcgm-exporter) · no GPU reported (is dcgm-exporter scraped?) · {age} ago"
        elif self.node and not self.show_all:
            known = ", ".join(clean(n.node, 64) for n in fleet_nodes(self.fleet.gpus)[:6])
            text = f"FLEET (dcgm-exporter) · no node matches {clean(self.node, 64)!r}; nodes: {known}{hint}"
        else:
            text = f"FLEET (dcgm-exporter) · no GPU of {clean(self.service, 64)} among {total}{hint}"
        update_if_changed(title, text)
        width = table.size.width or self.size.width or self.app.size.width
        table.show_gpus(gpus, width=width, color=self.shell.theme_color)
        table.set_class(self.fleet_state.status(now) in ("stale", "down", "retrying"), "stale")
        keys = [fleet_row_key(g) for g in gpus]
        if self._fleet_key in keys:
            index = keys.index(self._fleet_key)  # type: ignore[arg-type]
            if table.cursor_row != index:
                table.move_cursor(row=index)
        else:
            self._fleet_key = table.selected_key if keys else None
        missing = self.query_one("#missing", Static)
        families = self.fleet.missing
        note = ""
        if families:
            names = ", ".join(f.name for f in families)
            note = f"Not exported by dcgm-exporter: {names} (to enable: end of the detail pane)"
        update_if_changed(missing, note)
        missing.set_class(not note, "hidden")

    def render_local(self) -> None:
        snap = self.local
        none = self.query_one("#local-none", Static)
        title = self.query_one("#local-title", Static)
        table = self.query_one("#local", CellTable)
        procs_title = self.query_one("#procs-title", Static)
        procs = self.query_one("#procs", CellTable)
        if snap is None or not snap.available:
            text = "local GPUs (NVML): reading…" if snap is None else f"no local GPU: {snap.reason}"
            update_if_changed(none, sanitize_for_display(text, max_chars=300))
            none.remove_class("hidden")
            for widget in (title, table, procs_title, procs):
                widget.add_class("hidden")
            return
        none.add_class("hidden")
        for widget in (title, table):
            widget.remove_class("hidden")
        update_if_changed(
            title,
            f"LOCAL GPUs (NVML) · driver {show(snap.driver_version)} · {len(snap.gpus)} GPU"
            f"{'s' * (len(snap.gpus) != 1)}",
        )
        color = self.shell.theme_color
        table.show(list(LOCAL_COLUMNS), [(str(g.index), local_gpu_cells(g, color)) for g in snap.gpus])
        indices = [g.index for g in snap.gpus]
        if self._local_index not in indices:
            key = table.selected_key
            self._local_index = int(key) if key is not None else None
        self.render_processes()

    def render_processes(self) -> None:
        snap = self.local
        title = self.query_one("#procs-title", Static)
        table = self.query_one("#procs", CellTable)
        gpu = next((g for g in snap.gpus if g.index == self._local_index), None) if snap else None
        if gpu is None:
            title.add_class("hidden")
            table.add_class("hidden")
            return
        title.remove_class("hidden")
        processes = gpu.processes
        if isinstance(processes, NA):
            update_if_changed(title, f"processes on GPU {gpu.index}: n/a ({clean(processes.reason, 200)})")
            table.add_class("hidden")
            return
        update_if_changed(
            title,
            f"processes on GPU {gpu.index}: {len(processes) or 'none'}"
            + (" · tab: focus them" if processes else ""),
        )
        table.set_class(not processes, "hidden")
        width = table.size.width or self.size.width or self.app.size.width
        columns: list[tuple[str, int | None]] = [("PID", 8), ("USER", 12), ("GPU MEM", 8)]
        used = sum(w or 0 for _, w in columns) + 2 * (len(columns) + 1) + 2
        columns.append(("COMMAND", max(width - used, 20)))
        rows = []
        for proc in processes_sorted(processes):
            cells = [
                str(proc.pid),
                show(proc.user),
                show(proc.used_memory, lambda b: f"{b / GIB:.1f}G"),
                show(proc.command),
            ]
            rows.append(
                (
                    str(proc.pid),
                    [clipped(c, style="dim" if c == NA_TEXT else "") for c in cells],
                )
            )
        table.show(columns, rows)

    def render_detail(self) -> None:
        gpu = self.selected_gpu()
        title = self.query_one("#gpu-title", Static)
        summary = self.query_one("#gpu-summary", Static)
        xid = self.query_one("#gpu-xid", Static)
        labels = self.query_one("#gpu-labels", Static)
        full = self.query_one("#missing-full", Static)
        note = missing_counters_note(self.fleet.missing) if self.fleet is not None else ""
        update_if_changed(full, sanitize_for_display(note, multiline=True, max_chars=4000))
        if gpu is None:
            update_if_changed(title, "no fleet GPU selected" if self.fleet is not None else "")
            for widget in (summary, xid, labels):
                update_if_changed(widget, "")
            for key, *_ in CHARTS:
                update_if_changed(self.query_one(f"#chart-{key}", Static), "")
                update_if_changed(self.query_one(f"#promql-{key}", Static), "")
            return
        head, facts = fleet_gpu_facts(gpu)
        update_if_changed(title, head)
        update_if_changed(summary, facts)
        if getattr(xid, "_shown", None) != (shown := xid_text(gpu, self.shell.theme_color)).plain:
            xid._shown = shown.plain  # type: ignore[attr-defined]
            xid.update(shown)
        pairs = [f"{k}={v}" for k, v in sorted(gpu.labels.items())]
        update_if_changed(labels, "labels: " + clean(" · ".join(pairs), 8 * MAX_LABEL_VALUE))
        self._render_charts(gpu)

    def _render_charts(self, gpu: FleetGpu) -> None:
        width = max((self.query_one("#detail").size.width or self.app.size.width) - 4, 30)
        try:
            queries = gpu_history_queries(gpu)
        except ValueError:
            queries = {}
        mine = self._history_key == fleet_row_key(gpu)
        for key, title, scale, now in CHARTS:
            heading = f"{title} — now {now(gpu)}"
            if mine:
                values = [v * scale for v in self.history.get(key, [])]
                chart = render_chart({key: values}, width=width, height=CHART_HEIGHT, title=heading)
            else:
                chart = f"{heading}\n  (loading history…)"
            update_if_changed(self.query_one(f"#chart-{key}", Static), chart)
            lines = [f"{key}: {queries[key]}"] if key in queries else [f"{key}: (no query)"]
            if mine and key in self.history_errors:
                lines.append(f"query failed: {self.history_errors[key]}")
            if mine and key in self.history_warnings:
                lines.append(f"partial result: {self.history_warnings[key]}")
            update_if_changed(
                self.query_one(f"#promql-{key}", Static),
                "\n".join(sanitize_for_display(line, max_chars=2000) for line in lines),
            )

    # --------------------------------------------------------------- events --
    @on(DataTable.RowHighlighted, "#fleet")
    def _fleet_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = str(event.row_key.value) if event.row_key is not None else None
        if key and key != self._fleet_key:
            self._fleet_key = key
            self.render_detail()
            self.load_history(HISTORY_DEBOUNCE)

    @on(DataTable.RowHighlighted, "#local")
    def _local_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = str(event.row_key.value) if event.row_key is not None else None
        if key is not None and key.isdigit() and int(key) != self._local_index:
            self._local_index = int(key)
            self.render_processes()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        # DataTable consumes enter itself (select_cursor): its selection is the drill-in.
        if event.data_table.id == "local":
            procs = self.query_one("#procs", CellTable)
            if procs.display and not procs.has_class("hidden"):
                procs.focus()
            return
        if event.data_table.id == "fleet":
            self.action_focus_detail()

    # --------------------------------------------------------------- actions --
    def action_back(self) -> None:
        if self.focused is self.query_one("#detail"):
            self.query_one(FleetTable).focus()
            return
        self.app.pop_screen()

    def action_refresh_now(self) -> None:
        self._history_for = None
        self.refresh_all()

    def action_focus_detail(self) -> None:
        self.query_one("#detail", VerticalScroll).focus()

    def action_toggle_all(self) -> None:
        if not (self.node or self.service):
            self.notify("already showing every GPU", markup=False, timeout=2)
            return
        self.show_all = not self.show_all
        self.render_fleet()
        self.render_detail()
        self.load_history()

    def action_service_gpus(self) -> None:
        """``u`` here: narrow to the selected GPU's service (or back to all with ``a``)."""
        gpu = self.selected_gpu()
        if gpu is None or not gpu.service:
            self.notify("this GPU serves no known service", markup=False, timeout=2)
            return
        self.node, self.service, self.show_all = None, gpu.service, False
        self.render_fleet()

    def _panes(self) -> list[DataTable]:
        panes: list[DataTable] = [self.query_one(FleetTable)]
        for widget_id in ("#local", "#procs"):
            table = self.query_one(widget_id, CellTable)
            if not table.has_class("hidden"):
                panes.append(table)
        return panes

    def action_next_pane(self, index: int | None = None) -> None:
        panes = self._panes()
        if index is not None:
            panes[min(index, len(panes) - 1)].focus()
            return
        focused = self.focused
        current = panes.index(focused) if focused in panes else -1  # type: ignore[arg-type]
        panes[(current + 1) % len(panes)].focus()

    def _table(self) -> DataTable | None:
        focused = self.focused
        return focused if isinstance(focused, DataTable) else None

    def action_cursor_down(self) -> None:
        table = self._table()
        if table is not None:
            table.action_cursor_down()
        else:
            self.query_one("#detail", VerticalScroll).scroll_down()

    def action_cursor_up(self) -> None:
        table = self._table()
        if table is not None:
            table.action_cursor_up()
        else:
            self.query_one("#detail", VerticalScroll).scroll_up()

    def action_cursor_top(self) -> None:
        table = self._table()
        if table is not None:
            table.move_cursor(row=0)
        else:
            self.query_one("#detail", VerticalScroll).scroll_home()

    def action_cursor_bottom(self) -> None:
        table = self._table()
        if table is not None:
            table.move_cursor(row=max(table.row_count - 1, 0))
        else:
            self.query_one("#detail", VerticalScroll).scroll_end()
