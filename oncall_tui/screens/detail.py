"""A service's detail: plotext charts of the four golden signals over the range, each with the
exact PromQL behind it, so a responder can copy it into Grafana or promtool.

Services with an SLO get an "Error budget" section on top (:mod:`oncall_tui.core.budget`):
remaining budget over the SLO window, the multi-window burn rates and the incident's spend;
those queries read the whole SLO window, so they are fetched when the screen opens and then
at most once a minute (with the triage refresh), never every refresh.

Annotations in the range (Grafana's, and the timeline's notes and actions) are vertical
markers numbered on every chart and listed above them; they are fetched in the same worker
as the history (this screen does no I/O itself).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from oncall_tui.actions.annotations import chart_markers, newest
from oncall_tui.actions.timeline import impact_window
from oncall_tui.clients.errors import BackendError
from oncall_tui.clients.session import DETAIL_POINTS, RANGE_POINTS
from oncall_tui.core import format as fmt
from oncall_tui.core.budget import BUDGET_REFRESH_SECONDS, Budget, BudgetUnavailable, incident_start
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.core.signals import service_query
from oncall_tui.core.target import DrillTarget, target_for_service
from oncall_tui.models.grafana import Annotation, ChartMarker
from oncall_tui.screens.shell import RefreshNow, ShellAccess, header_state
from oncall_tui.widgets.budget import budget_text
from oncall_tui.widgets.chart import MAX_MARKERS, marker_legend, render_chart
from oncall_tui.widgets.footer import KeyHints
from oncall_tui.widgets.header import StatusHeader
from oncall_tui.widgets.keys import TIME_RANGE_BINDINGS

if TYPE_CHECKING:
    from oncall_tui.clients.session import TriageData
    from oncall_tui.settings import Service

#: LLM-serving signals shown above the charts: name -> (label, formatter).
LLM_SIGNALS = {
    "kv_cache": ("KV cache", fmt.percent),
    "vllm_waiting": ("waiting", lambda v: fmt.saturation(v, "requests")),
    "vllm_running": ("running", lambda v: fmt.saturation(v, "requests")),
    "vllm_ttft_p95": ("TTFT p95", fmt.seconds),
    "vllm_tokens_per_s": ("tokens/s", fmt.rate),
    "triton_queue_s": ("queue time", fmt.seconds),
    "triton_compute_s": ("compute time", fmt.seconds),
    "tgi_queue": ("queue", lambda v: fmt.saturation(v, "requests")),
}

PANELS = (
    ("Traffic (req/s)", ("traffic",), fmt.rate),
    ("Errors (ratio of requests)", ("errors",), fmt.percent),
    ("Latency p50 / p95 / p99 (s)", ("latency_p50", "latency_p95", "latency_p99"), fmt.seconds),
    ("Saturation", ("saturation",), None),
)


class ServiceDetailScreen(ShellAccess, Screen):
    """Pushed over the triage screen with ``enter`` or ``:svc NAME``; ``esc``/``q`` goes back."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("q", "back", "Back", show=False, id="back-q"),
        Binding("ctrl+r", "refresh_now", "Refresh", id="refresh"),
        # The service's own keys (l x u b are the app's and use drill_target below).
        Binding("R", "app.rollback", "Rollback", id="rollback"),
        Binding("N", "app.annotate", "Note", id="annotate"),
        Binding("S", "alert_only('silence')", "Silence", show=False, id="silence"),
        Binding("A", "alert_only('ack')", "Ack", show=False, id="ack"),
        *TIME_RANGE_BINDINGS,
    ]

    DEFAULT_CSS = """
    ServiceDetailScreen #title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    ServiceDetailScreen .chart { height: auto; padding: 0 1; color: $foreground; }
    ServiceDetailScreen .promql { height: auto; padding: 0 1 1 1; color: $foreground-muted; }
    ServiceDetailScreen #markers { color: $foreground; }
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.history: dict[str, list[float]] = {}
        self.errors: dict[str, str] = {}
        self.llm: dict[str, tuple[float | None, str]] = {}
        #: Unix times of the points in ``history`` (for placing markers).
        self.times: dict[str, list[float]] = {}
        self.markers: list[ChartMarker] = []
        self.markers_older = 0
        self.annotations_error: str | None = None
        #: Grafana's annotations from the last good fetch (kept while Grafana is down).
        self.grafana_annotations: list[Annotation] = []
        #: The error budget from the last fetch with an answer (kept while Prometheus is down).
        self.budget: Budget | None = None
        self.budget_down: str | None = None
        self.budget_unavailable: str | None = None
        #: When the budget was last asked for (clock time), None before the first time.
        self.budget_asked: float | None = None

    @property
    def drill_target(self) -> DrillTarget:
        """What l/x/u/b/R act on here: this service over the screen's time range."""
        incident = self.incident
        now = incident.clock()
        start, end, _ = self.shell.time_range.window(now)
        return target_for_service(self.service, start, now if self.shell.time_range.live else end)

    def action_alert_only(self, what: str) -> None:
        """``S``/``A`` act on one alert, and this screen is a service: say how to get there."""
        self.app.notify(
            sanitize_for_display(f"{what} acts on an alert: esc, then tab to the alerts table and pick one of {self.service}'s", max_chars=300),
            severity="warning",
            markup=False,
        )

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static("", id="title", markup=False)
        with VerticalScroll():
            yield Static("", id="budget", classes="promql", markup=False)
            yield Static("", id="llm", classes="promql", markup=False)
            yield Static("", id="markers", classes="promql", markup=False)
            for i, _ in enumerate(PANELS):
                yield Static("", id=f"chart-{i}", classes="chart", markup=False)
                yield Static("", id=f"promql-{i}", classes="promql", markup=False)
        yield KeyHints()

    def on_mount(self) -> None:
        self.render_data(self.incident.last_data)
        self.load_history()
        self.load_budget()

    def _service(self) -> Service | None:
        data = self.incident.last_data
        return next((s for s in data.services if s.name == self.service), None) if data else None

    @work(exclusive=True, group="detail-budget", exit_on_error=False, description="error budget")
    async def load_budget(self) -> None:
        """The SLO-window queries (expensive: they read up to 30 days of samples)."""
        incident = self.incident
        service = self._service()
        if service is None or not service.slo.availability:
            return
        self.budget_asked = incident.clock()
        data = incident.last_data
        events = await self._timeline_events()
        window = impact_window(events)
        start, source = incident_start(
            data.alerts if data else [], self.service, timeline_start=window.start if window.ongoing else None
        )
        try:
            budget = await incident.session.fetch_budget(service, incident_start=start, incident_source=source)
        except BudgetUnavailable as exc:
            self.budget_unavailable = str(exc)
        else:
            self.budget_unavailable = None
            if budget.errors and len(budget.errors) == len(budget.queries):
                # Nothing answered: say so and keep the last good values.
                self.budget_down = next(iter(budget.errors.values()))
            else:
                self.budget, self.budget_down = budget, None
        self._render_budget()

    @work(exclusive=True, group="detail-history", exit_on_error=False, description="service history")
    async def load_history(self) -> None:
        """The service's own range queries at detail resolution (the PromQL shown below each chart)."""
        incident = self.incident
        data = incident.last_data
        service = next((s for s in data.services if s.name == self.service), None) if data else None
        if service is None:
            return
        now = incident.clock()
        start, _, _ = self.shell.time_range.window(now, points=DETAIL_POINTS)
        end = now if self.shell.time_range.end is None else min(self.shell.time_range.end, now)
        # Grafana may be slow or down (reads are retried): the charts do not wait for it.
        previous_error = self.annotations_error
        grafana = asyncio.ensure_future(self._annotations(start, end))
        try:
            (series, errors), self.llm, events = await asyncio.gather(
                incident.session.fetch_service_history(service, self.shell.time_range),
                incident.session.fetch_llm_signals(service),
                self._timeline_events(),
            )
            self.history = {k: [p.value for p in v] for k, v in series.items()}
            self.times = {k: [p.timestamp for p in v] for k, v in series.items()}
            self.errors = errors
            self._set_markers(self.grafana_annotations, events, start, end)
            self.render_data(incident.last_data)
            annotations, self.annotations_error = await grafana
        finally:
            grafana.cancel()
        if self.annotations_error is None:
            self.grafana_annotations = annotations
        before = (self.markers, self.markers_older)
        self._set_markers(self.grafana_annotations, events, start, end)
        if (self.markers, self.markers_older) != before or self.annotations_error != previous_error:
            self.render_data(incident.last_data)

    def _set_markers(self, annotations: list[Annotation], events: list, start: float, end: float) -> None:  # type: ignore[type-arg]
        self.markers, self.markers_older = newest(
            chart_markers(annotations, events, start=start, end=end), MAX_MARKERS
        )

    async def _annotations(self, start: float, end: float) -> tuple[list[Annotation], str | None]:
        """Grafana's annotations in the window, or the reason they could not be fetched."""
        try:
            return await self.incident.session.fetch_annotations(start, end), None
        except BackendError as exc:
            return [], str(exc)

    async def _timeline_events(self) -> list:  # type: ignore[type-arg]
        timeline = self.incident.timeline
        try:
            return await asyncio.to_thread(timeline.events)
        except OSError:
            return []

    def on_resize(self) -> None:
        self.render_data(self.incident.last_data)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh_now(self) -> None:
        self.post_message(RefreshNow())

    def follow_triage(self, data: TriageData, changed: str | None) -> None:
        """New triage data (from ``changed``; None: every backend): the numbers follow it and
        the charts reload when Prometheus answered."""
        self.render_data(data)
        if changed in (None, "prometheus"):
            self.load_history()
            asked = self.budget_asked
            if asked is None or self.incident.clock() - asked >= BUDGET_REFRESH_SECONDS:
                self.load_budget()

    def render_data(self, data: TriageData | None) -> None:
        self.query_one(StatusHeader).show(header_state(self.shell))
        name = sanitize_for_display(self.service, max_chars=64)
        row = next((r for r in data.rows if r.service == self.service), None) if data else None
        service = next((s for s in data.services if s.name == self.service), None) if data else None
        if row is None or service is None:
            self.query_one("#title", Static).update(Text(f"{name}: no data for this service (yet)"))
            return
        self.query_one("#title", Static).update(
            Text(f"{name} · {row.preset or 'custom queries'} · {self.shell.time_range.label()}")
        )
        self._render_budget()
        self._render_llm()
        self._render_markers()
        width = max((self.size.width or self.app.size.width) - 4, 30)
        marks = [m.at for m in self.markers]
        for i, (title, signals, formatter) in enumerate(PANELS):
            series = {s.replace("latency_", ""): self.history.get(s, row.history.get(s, [])) for s in signals}
            show = formatter or (lambda v: fmt.saturation(v, row.saturation_unit))
            parts = [(k, show(row.values.get(s))) for k, s in zip(series, signals, strict=True)]
            current = parts[0][1] if len(parts) == 1 else ", ".join(f"{k} {v}" for k, v in parts)
            times = self._times_for(signals, series)
            chart = render_chart(
                series, width=width, height=9, title=f"{title} — now {current}", times=times, markers=marks
            )
            self.query_one(f"#chart-{i}", Static).update(Text(chart))
            queries = [f"{s}: {q}" for s in signals if (q := service_query(service, s))]
            queries += [f"{s}: query failed: {self.errors[s]}" for s in signals if s in self.errors]
            self.query_one(f"#promql-{i}", Static).update(
                Text("\n".join(sanitize_for_display(q, max_chars=2000) for q in queries) or "(no query)")
            )

    def _times_for(self, signals: tuple[str, ...], series: dict[str, list[float]]) -> list[float] | None:
        """Unix times of the x points of a panel (its first series with data)."""
        if not self.markers:
            return None
        for signal in signals:
            if self.times.get(signal):
                return self.times[signal]
        # Triage's coarser history (no timestamps kept): evenly spaced over its window.
        values = next((v for v in series.values() if v), None)
        if not values:
            return None
        incident = self.incident
        _, end, step = self.shell.time_range.window(incident.clock(), points=RANGE_POINTS)
        return [end - (len(values) - 1 - i) * step for i in range(len(values))]

    def _render_markers(self) -> None:
        """Numbered annotation lines (sanitised) above the charts; hidden when there are none."""
        box = self.query_one("#markers", Static)
        if not self.markers and not self.annotations_error:
            box.display = False
            return
        box.display = True
        text = Text()
        text.append("Annotations", style="bold")
        if self.markers:
            text.append(":\n")
            text.append(marker_legend(self.markers, now=self.incident.clock(), older=self.markers_older))
        if self.annotations_error:
            text.append("\n" if self.markers else ": ")
            text.append(
                f"Grafana annotations unavailable: {sanitize_for_display(self.annotations_error, max_chars=300)}",
                style="dim",
            )
        box.update(text)

    def _render_budget(self) -> None:
        service = self._service()
        box = self.query_one("#budget", Static)
        box.update(
            budget_text(
                self.budget,
                now=self.incident.clock(),
                color=self.shell.theme_color,
                has_slo=service is not None and bool(service.slo.availability),
                unavailable=self.budget_unavailable,
                down=self.budget_down,
            )
        )

    def _render_llm(self) -> None:
        """``LLM serving: KV cache 97% · waiting 27 · …`` and the PromQL behind each value."""
        box = self.query_one("#llm", Static)
        if not self.llm:
            box.display = False
            return
        box.display = True
        text = Text("LLM serving: ", style="bold")
        parts = [f"{label} {show(self.llm[k][0])}" for k, (label, show) in LLM_SIGNALS.items() if k in self.llm]
        text.append(" · ".join(parts))
        for k, (value, expr) in self.llm.items():
            text.append(f"\n{k}: {sanitize_for_display(expr, max_chars=2000)}", style="dim")
        box.update(text)
