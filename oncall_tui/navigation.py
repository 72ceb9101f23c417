"""Where each key and message leads: the drill-down screens and what they are about.

A mixin of :class:`~oncall_tui.app.OncallApp`: ``l``/``x``/``u``/``b``/``s`` and the
``Open*`` messages screens post (:mod:`oncall_tui.screens.shell`) open the logs, traces,
waterfall, GPU, service detail, silences and runbook screens for the current selection.
Heavy screens load with their first use, not at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oncall_tui.core.target import DrillTarget
from oncall_tui.incident import Notice
from oncall_tui.screens import shell
from oncall_tui.screens.shell import tell

if TYPE_CHECKING:
    from collections.abc import Callable

    from oncall_tui.core.timerange import TimeRange
    from oncall_tui.core.triage import TriageAlert
    from oncall_tui.incident import Incident
    from oncall_tui.screens.triage import TriageScreen


class Navigation:
    """Opening screens (mixed into the app, which provides the attributes below)."""

    incident: Incident
    time_range: TimeRange
    clock: Callable[[], float]
    _triage: TriageScreen | None
    screen: Any
    push_screen: Callable[..., Any]
    pop_screen: Callable[..., Any]
    switch_mode: Callable[..., Any]

    def current_target(self) -> DrillTarget | None:
        """The selection: on the triage screen an alert or a service; on a drill-down screen
        whatever it is about (its ``drill_target``)."""
        target = getattr(self.screen, "drill_target", None)
        if isinstance(target, DrillTarget):
            return target
        return self._triage.selected_target() if self._triage is not None and self.screen is self._triage else None

    def selected_alert(self) -> TriageAlert | None:
        return self._triage.selected_alert() if self._triage is not None and self.screen is self._triage else None

    def _target(self) -> DrillTarget:
        """The selection, or the time range's window when nothing is selected."""
        now = self.clock()
        return self.current_target() or DrillTarget(self.time_range.window(now)[0], now)

    def action_logs(self) -> None:
        self.open_logs(self._target())

    def action_traces(self) -> None:
        self.open_traces(self._target())

    def action_gpu(self) -> None:
        target = self.current_target()
        self.open_gpu(service=target.service if target else None, target=target)

    def on_open_logs(self, message: shell.OpenLogs) -> None:
        self.open_logs(message.target, logql=message.logql)

    def open_logs(self, target: DrillTarget | None = None, *, logql: str | None = None) -> None:
        from oncall_tui.screens.logs import LogsScreen

        self.push_screen(LogsScreen(target or self._target(), logql=logql))

    def on_open_traces(self, message: shell.OpenTraces) -> None:
        self.open_traces(message.target)

    def open_traces(self, target: DrillTarget | None = None) -> None:
        from oncall_tui.screens.traces import TraceListScreen

        self.push_screen(TraceListScreen(target or self._target()))

    def on_open_trace(self, message: shell.OpenTrace) -> None:
        self.open_trace(message.trace_id, span_id=message.span_id)

    def open_trace(self, trace_id: str, *, span_id: str | None = None) -> None:
        from oncall_tui.screens.waterfall import WaterfallScreen

        self.push_screen(WaterfallScreen(trace_id, span_id=span_id))

    def open_gpu(self, *, node: str | None = None, service: str | None = None, target: DrillTarget | None = None) -> None:
        """The GPU view; ``node``/``service`` narrow the fleet, ``target`` selects an alert's GPU."""
        from oncall_tui.screens.gpu import GpuScreen

        if isinstance(self.screen, GpuScreen):
            self.pop_screen()  # :gpu NODE on the GPU screen replaces it
        self.push_screen(GpuScreen(node=node, service=service, target=target))

    def on_open_service(self, message: shell.OpenService) -> None:
        self.open_service(message.name)

    def open_service(self, name: str) -> None:
        data = self.incident.last_data
        if data is None or not any(s.name == name for s in data.services):
            known = ", ".join(s.name for s in data.services) if data else "(no data yet)"
            tell(self, Notice(f"no service {name[:64]!r}; known: {known}", "warning"))
            return
        from oncall_tui.screens.detail import ServiceDetailScreen

        self.switch_mode("triage")
        if isinstance(self.screen, ServiceDetailScreen):
            self.pop_screen()
        self.push_screen(ServiceDetailScreen(name))

    def focus_alert_service(self, service: str | None) -> None:
        self.switch_mode("triage")
        if self._triage is not None and service:
            self._triage.narrow_to = service
            self._triage.render_data()

    def action_silences(self) -> None:
        from oncall_tui.screens.silences import SilencesScreen

        if not isinstance(self.screen, SilencesScreen):
            self.push_screen(SilencesScreen())

    def action_runbook(self) -> None:
        """``b`` / ``5``: the runbook of the selected alert (or service)."""
        from oncall_tui.screens.runbook import open_runbook

        open_runbook(self, self.current_target(), alerts=self.incident.last_data.alerts if self.incident.last_data else [], selected=self.selected_alert())

