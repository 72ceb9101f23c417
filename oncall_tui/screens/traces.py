"""The traces of a service or alert: its slowest traces, its failing traces and the exemplar
traces of its latency histogram, merged into one table.

``TraceListScreen(target)`` is pushed by ``x``/``3`` and ``:trace`` (no id). Three sources,
fetched together in one worker:

- slow: TraceQL :func:`~oncall_tui.core.traceql.slow_traces` for the service over the
  target's window, the threshold derived from the service's current p95 (Tempo has no
  ``order by``: the results are sorted here, slowest first);
- error: :func:`~oncall_tui.core.traceql.failing_traces`;
- exemplar: Prometheus exemplars on the service's latency histogram (the ``_bucket``
  selector of its preset), highest latency first.

A trace found by several sources is one row whose kind lists them all. The queries are shown
(dim) under the header so they can be pasted into Grafana. When Tempo is rate-limited or down
the last list stays, dimmed, and the header's badge says STALE/DOWN with the reason.

Keys: ``enter`` the waterfall of the selected trace, ``l`` its logs (the trace id as a line
filter over the trace's time ± 5 min), ``ctrl+r`` refresh, ``esc``/``q`` back.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from oncall_tui.clients.errors import BackendError, clean_message
from oncall_tui.core import traceql
from oncall_tui.core.logs.logql import add_line_filter, build_logql
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.core.signals import PRESETS, quote
from oncall_tui.core.target import DrillTarget
from oncall_tui.core.waterfall.display import format_duration_ns
from oncall_tui.models.tempo.ids import InvalidTraceId, normalize_trace_id
from oncall_tui.models.tempo.search import TraceSummary
from oncall_tui.screens.shell import OpenLogs, OpenTrace, ShellAccess, header_state
from oncall_tui.screens.waterfall import LOG_PAD_SECONDS, tempo_badge
from oncall_tui.widgets.display import clipped, display
from oncall_tui.widgets.footer import KeyHints
from oncall_tui.widgets.header import StatusHeader, update_if_changed
from oncall_tui.widgets.keys import CURSOR_BINDINGS, CursorKeys
from oncall_tui.widgets.tables import DiffTable

if TYPE_CHECKING:
    from oncall_tui.clients.drill import ExemplarRef
    from oncall_tui.settings import Service

#: Traces asked of Tempo per search (and exemplar traces kept).
SEARCH_LIMIT = 20
KIND_ORDER = ("slow", "error", "exemplar")
_RATE_ARGUMENT = re.compile(r"rate\((?P<selector>.+)\[\{w\}\]\)")


def bucket_selector(service: Service) -> str | None:
    """The latency histogram's ``_bucket`` series selector of a preset service, for exemplars:
    ``{__name__=~"vllm[:_]e2e_request_latency_seconds_bucket",service="llm-server"}``.
    None for presets without a histogram (Triton's summary) and for custom queries."""
    if service.preset is None or service.preset not in PRESETS:
        return None
    match = _RATE_ARGUMENT.search(PRESETS[service.preset].latency)
    if match is None or "_bucket" not in match.group("selector"):
        return None
    sel = ",".join(f"{k}={quote(v)}" for k, v in sorted(service.selector.items()))
    return match.group("selector").format(sel=sel)


@dataclass
class TraceRow:
    """One row of the list: a trace and the sources that found it."""

    trace_id: str
    kinds: list[str] = field(default_factory=list)
    root_service: str = ""
    operation: str = ""
    start_ns: int = 0
    duration_ns: int = 0
    spans: int | None = None
    errors: int | None = None

    @property
    def kind_label(self) -> str:
        kinds = sorted(self.kinds, key=KIND_ORDER.index)
        if len(kinds) > 1:
            return "+".join({"exemplar": "ex", "error": "err"}.get(k, k) for k in kinds)
        return kinds[0] if kinds else ""


def merge_rows(
    slow: list[TraceSummary], failing: list[TraceSummary], exemplars: list[ExemplarRef], *, service: str | None
) -> list[TraceRow]:
    """One row per trace id; slow ones first (slowest first), then failing, then exemplars."""
    rows: dict[str, TraceRow] = {}

    def add_summary(kind: str, t: TraceSummary) -> None:
        row = rows.get(t.trace_id)
        if row is None:
            row = rows[t.trace_id] = TraceRow(t.trace_id)
        if kind not in row.kinds:
            row.kinds.append(kind)
        row.root_service = t.root_service or row.root_service
        row.operation = t.root_name or row.operation
        row.start_ns = t.start_ns or row.start_ns
        row.duration_ns = t.duration_ns or row.duration_ns
        if t.service_stats:
            row.spans, row.errors = t.span_count, t.error_count

    for t in traceql.slowest(slow):
        add_summary("slow", t)
    for t in traceql.slowest(failing):
        add_summary("error", t)
    for ex in exemplars:
        try:
            tid = normalize_trace_id(ex.trace_id)
        except InvalidTraceId:
            continue
        row = rows.get(tid)
        if row is None:
            if sum(1 for r in rows.values() if r.kinds == ["exemplar"]) >= SEARCH_LIMIT:
                continue
            value_ns = int(max(ex.value, 0.0) * 1e9) if ex.value == ex.value else 0
            row = rows[tid] = TraceRow(
                tid,
                root_service=ex.labels.get("service") or service or "",
                start_ns=int(ex.timestamp * 1e9) - value_ns,
                duration_ns=value_ns,
            )
        if "exemplar" not in row.kinds:
            row.kinds.append("exemplar")
    return sorted(rows.values(), key=lambda r: (min(KIND_ORDER.index(k) for k in r.kinds), -r.duration_ns))


def _utc(ts: float, fmt: str) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime(fmt)
    except (OverflowError, OSError, ValueError):
        return "?"


def _span_label(seconds: float) -> str:
    """A window's length to the minute: ``30m``, ``2h05m``, ``45s``."""
    if not seconds > 0:
        return "?"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


class TraceListScreen(CursorKeys, ShellAccess, Screen):
    """Header, window and Tempo badge, the queries used, the merged trace table, a footer."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="traces-back"),
        Binding("q", "back", "Back", show=False, id="traces-back-q"),
        Binding("enter", "open_trace", "Waterfall", id="traces-open"),
        Binding("l", "trace_logs", "Logs of trace", id="traces-logs"),
        Binding("ctrl+r", "refresh_now", "Refresh", id="traces-refresh"),
        *CURSOR_BINDINGS,
    ]

    DEFAULT_CSS = """
    TraceListScreen { layout: vertical; }
    TraceListScreen #title { height: 1; background: $panel; padding: 0 1; text-style: bold; }
    TraceListScreen #badge { height: 1; padding: 0 1; }
    TraceListScreen #badge.-fresh { color: $source-fresh; }
    TraceListScreen #badge.-loading { color: $foreground-muted; }
    TraceListScreen #badge.-stale { color: $source-stale; text-style: bold; }
    TraceListScreen #badge.-down, TraceListScreen #badge.-auth { color: $source-down; text-style: bold; }
    TraceListScreen #queries { height: auto; max-height: 3; padding: 0 1; color: $foreground-muted; text-style: dim; text-wrap: nowrap; text-overflow: ellipsis; }
    TraceListScreen #status { height: auto; max-height: 3; padding: 0 1; color: $foreground-muted; }
    TraceListScreen #status.error { color: $source-down; }
    TraceListScreen #traces { height: 1fr; }
    TraceListScreen .stale { opacity: 70%; }
    """

    def __init__(self, target: DrillTarget) -> None:
        super().__init__()
        self.drill_target = target
        self.rows: list[TraceRow] = []
        self.queries: dict[str, str] = {}
        self.notes: list[str] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static("", id="title", markup=False)
        yield Static("", id="badge", markup=False)
        yield Static("", id="queries", markup=False)
        yield Static("", id="status", markup=False)
        yield DiffTable(id="traces", cursor_type="row")
        yield KeyHints()

    def cursor_table(self) -> DataTable:
        return self.query_one(DiffTable)

    def on_mount(self) -> None:
        self.query_one(StatusHeader).show(header_state(self.shell))
        self.queries = self.build_queries()
        self.render_all()
        self.query_one(DiffTable).focus()
        self.refresh_data()

    # ------------------------------------------------------------------ queries --
    def _service(self) -> Service | None:
        name = self.drill_target.service
        if not name:
            return None
        incident = self.incident
        services = list(incident.last_data.services) if incident.last_data is not None else []
        services += list(incident.context.services)
        return next((s for s in services if s.name == name), None)

    def _latency_hint(self) -> float | None:
        data = self.incident.last_data
        name = self.drill_target.service
        row = next((r for r in data.rows if r.service == name), None) if data is not None and name else None
        return row.values.get("latency_p95") if row is not None else None

    def build_queries(self) -> dict[str, str]:
        """``{"slow": TraceQL, "error": TraceQL, "exemplar": PromQL selector}`` for the target."""
        name = self.drill_target.service
        if name:
            out = {
                "slow": traceql.slow_traces(name, latency_hint=self._latency_hint()),
                "error": traceql.failing_traces(name),
            }
        else:
            out = {
                "slow": "{ kind = server && duration > " + traceql.duration_literal(traceql.DEFAULT_SLOW_SECONDS) + " }",
                "error": traceql.failing_traces(None),
            }
        service = self._service()
        selector = bucket_selector(service) if service is not None else None
        if selector:
            out["exemplar"] = selector
        return out

    # --------------------------------------------------------------------- data --
    @work(exclusive=True, group="trace-list", exit_on_error=False, description="trace list")
    async def refresh_data(self) -> None:
        incident = self.incident
        drill = incident.session.drill
        target = self.drill_target
        start, end = target.start, target.end
        jobs = [
            drill.search_traces(self.queries["slow"], start=start, end=end, limit=SEARCH_LIMIT),
            drill.search_traces(self.queries["error"], start=start, end=end, limit=SEARCH_LIMIT),
        ]
        if "exemplar" in self.queries:
            jobs.append(drill.exemplars(self.queries["exemplar"], start=start, end=end))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        notes: list[str] = []
        found: dict[str, list] = {"slow": [], "error": [], "exemplar": []}
        tempo_failed = False
        for kind, result in zip(("slow", "error", "exemplar"), results, strict=False):
            if isinstance(result, BaseException):
                if not isinstance(result, (BackendError, ValueError)):
                    raise result
                if kind != "exemplar":
                    tempo_failed = True
                what = "exemplars (Prometheus)" if kind == "exemplar" else f"{kind} traces (Tempo)"
                notes.append(f"{what}: {result}")
                continue
            if kind == "exemplar":
                found[kind] = list(result)
            else:
                found[kind] = list(result.traces)
                if result.metrics.partial:
                    notes.append(f"{kind} traces: partial result (Tempo did not finish every job)")
        if "exemplar" not in self.queries and target.service:
            notes.append("exemplars: this service has no latency histogram to read them from")
        rows = merge_rows(found["slow"], found["error"], found["exemplar"], service=target.service)
        if tempo_failed and self.loaded and self.rows:
            pass  # keep the last list; the badge and the note say why it is old
        else:
            self.rows = rows
            self.loaded = True
        self.notes = notes
        self.render_all(stale=tempo_failed and bool(self.rows))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # A bug, not a backend error (those become notes in refresh_data): say so, keep running.
        if event.worker.group == "trace-list" and event.state == WorkerState.ERROR:
            error = event.worker.error
            self.loaded = True
            self.notes = [f"cannot list traces: {type(error).__name__}: {clean_message(error, max_chars=300)}"]
            self.render_all(stale=bool(self.rows))

    # -------------------------------------------------------------------- render --
    def render_all(self, *, stale: bool = False) -> None:
        target = self.drill_target
        width = self.size.width or self.app.size.width
        span_label = _span_label(target.end - target.start)
        window = f"{_utc(target.start, '%Y-%m-%d %H:%M')}–{_utc(target.end, '%H:%M')} UTC ({span_label})"
        title = f"TRACES · {sanitize_for_display(target.describe(), max_chars=120)} · {window}"
        update_if_changed(self.query_one("#title", Static), title)
        badge_text, status = tempo_badge(self.incident)
        badge = self.query_one("#badge", Static)
        update_if_changed(badge, badge_text)
        for name in ("fresh", "stale", "down", "auth", "loading"):
            badge.set_class(status == name, f"-{name}")
        lines = [f"{kind:<8} {sanitize_for_display(q, max_chars=600)}" for kind, q in self.queries.items()]
        queries = self.query_one("#queries", Static)
        if getattr(queries, "_shown", None) != lines:
            queries._shown = lines  # type: ignore[attr-defined]
            queries.update(Text("\n".join(lines), no_wrap=True, overflow="ellipsis"))
        status_box = self.query_one("#status", Static)
        messages = [sanitize_for_display(n, max_chars=300) for n in self.notes]
        if not self.loaded:
            messages.insert(0, "searching Tempo and Prometheus…")
        elif not self.rows:
            messages.insert(0, f"no slow, failing or exemplar traces for {sanitize_for_display(target.describe(), max_chars=80)} in this window")
        update_if_changed(status_box, "\n".join(messages))
        status_box.set_class(bool(self.notes), "error")
        status_box.display = bool(messages)
        table = self.query_one(DiffTable)
        self._fill(table, width)
        table.set_class(stale, "stale")

    def _fill(self, table: DiffTable, width: int) -> None:
        wide = width >= 110
        color = self.shell.theme_color
        columns: list[tuple[str, int | None]] = [
            ("KIND", 11),
            ("ROOT SERVICE", 18 if wide else 13),
        ]
        fixed = [("START", 8), ("DURATION", 8), ("SPANS", 5), ("ERR", 4)]
        used = sum(w or 0 for _, w in columns + fixed) + 2 * (len(columns) + len(fixed) + 1) + 2
        columns.append(("OPERATION", max(width - used, 10)))
        columns += fixed
        err_style = f"bold {color('level-crit')}"
        slow_style = color("level-warn")
        out = []
        for r in self.rows:
            kind_style = err_style if "error" in r.kinds else slow_style if "slow" in r.kinds else ""
            out.append(
                (
                    r.trace_id,
                    [
                        clipped(r.kind_label, style=kind_style),
                        clipped(r.root_service or "–", limit=64),
                        clipped(r.operation or "–", limit=200),
                        display(_utc(r.start_ns / 1e9, "%H:%M:%S") if r.start_ns else "–"),
                        display(format_duration_ns(r.duration_ns).rjust(8), style=slow_style if "slow" in r.kinds else ""),
                        display(("–" if r.spans is None else str(r.spans)).rjust(5)),
                        display(("–" if r.errors is None else str(r.errors)).rjust(4), style=err_style if r.errors else ""),
                    ],
                )
            )
        table.set_table(columns, out)

    def on_resize(self) -> None:
        self.render_all(stale=self.query_one(DiffTable).has_class("stale"))

    # ------------------------------------------------------------------ actions --
    def selected_row(self) -> TraceRow | None:
        key = self.query_one(DiffTable).selected_key
        return next((r for r in self.rows if r.trace_id == key), None)

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open_trace()  # DataTable consumes enter itself (select_cursor)

    def action_open_trace(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.post_message(OpenTrace(row.trace_id))

    def action_trace_logs(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        service = row.root_service or self.drill_target.service
        if not service:
            self.notify("this trace has no service to select log streams by", severity="warning", markup=False)
            return
        try:
            logql = add_line_filter(build_logql({"service": service}), row.trace_id)
        except ValueError as exc:
            self.notify(sanitize_for_display(f"cannot build a logs query: {exc}", max_chars=300), severity="error", markup=False)
            return
        start = row.start_ns / 1e9 if row.start_ns else self.drill_target.start
        end = (row.start_ns + row.duration_ns) / 1e9 if row.start_ns else self.drill_target.end
        target = DrillTarget(start - LOG_PAD_SECONDS, end + LOG_PAD_SECONDS, service, {"service": service})
        self.post_message(OpenLogs(target, logql=logql))

    def action_refresh_now(self) -> None:
        self.queries = self.build_queries()
        self.refresh_data()

    def action_back(self) -> None:
        self.app.pop_screen()




__all__ = ["TraceListScreen", "TraceRow", "bucket_selector", "merge_rows"]
