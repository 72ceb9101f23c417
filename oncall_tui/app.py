"""The Textual application: modes per area, keymap, command line, palette, context switching."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from oncall_tui.actions.audit import AuditLog, state_dir
from oncall_tui.actions.core import ActionRunner
from oncall_tui.actions.timeline import Timeline, TimelineEvent, alert_changes
from oncall_tui.clients.session import BackendSession, TriageData
from oncall_tui.core.commands import CommandError, parse_command
from oncall_tui.core.sanitize import sanitize_for_display
from oncall_tui.core.target import DrillTarget
from oncall_tui.core.timerange import TimeRange
from oncall_tui.screens.triage import TriageScreen
from oncall_tui.settings import Context, Settings, duration_seconds
from oncall_tui.themes import default_theme_variables, no_color, register_themes
from oncall_tui.widgets import partial_render
from oncall_tui.widgets.display import TerminalGuard

if TYPE_CHECKING:
    from oncall_tui.actions.silences import UntilResolved
    from oncall_tui.screens.detail import ServiceDetailScreen

AREAS = {
    "runbook": ("Runbook", "Runbooks and their steps arrive with the actions part (silences, rollback, runbooks)."),
}

log = logging.getLogger(__name__)


def timeline_path(base: Path, context_name: str) -> Path:
    """One timeline file per context: ``<state>/timeline-<context>.jsonl`` (name made file-safe)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in context_name)[:100] or "_"
    return base / f"timeline-{safe}.jsonl"


class OncallCommands(Provider):
    """ctrl+p: jump to a service or alert, switch context, switch theme."""

    def _choices(self) -> list[tuple[str, Callable[[], object], str]]:
        """(title, callback, help); titles are untrusted and go in as Text/Content only."""
        app: OncallApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, Callable[[], object], str]] = []
        data = app.last_data
        if data is not None:
            for row in data.rows:
                out.append((f"service {row.service}", partial(app.open_service, row.service), "open its detail"))
            for alert in data.alerts:
                where = alert.service or "-"
                out.append(
                    (f"alert {alert.name} ({where}, {alert.state})", partial(app.focus_alert_service, alert.service), "show the alerts of its service")
                )
        for name in app.settings.contexts:
            out.append((f"context {name}", partial(app.run_command, f":ctx {name}"), "switch every panel to it"))
        for name in sorted(app.available_themes):
            out.append((f"theme {name}", partial(app.run_command, f":theme {name}"), ""))
        # Textual parses a hit's help as markup: help texts are fixed strings, never backend data.
        return [(sanitize_for_display(t, max_chars=120), cb, h) for t, cb, h in out]

    async def discover(self) -> Hits:
        for text, callback, help_text in self._choices():
            yield DiscoveryHit(Text(text), callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, callback, help_text in self._choices():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, _highlight(matcher, text), callback, help=help_text)


def _highlight(matcher: Matcher, text: str) -> Content:
    """Like ``Matcher.highlight`` but without parsing ``text`` as markup (it is backend data)."""
    content = Content(text)
    _, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize("bold underline", offset, offset + 1)
    return content


class OncallApp(App[int]):
    """oncall-tui. Screens never do I/O themselves: workers call the session's clients."""

    TITLE = "oncall-tui"
    COMMANDS = {OncallCommands}
    MODES = {"triage": TriageScreen}
    DEFAULT_MODE = "triage"
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="help"),
        Binding("colon", "command_line", "Command", id="command-line"),
        Binding("1", "switch_area('triage')", "Triage", show=False, id="screen-triage"),
        Binding("2", "logs", "Logs", show=False, id="screen-logs"),
        Binding("3", "traces", "Traces", show=False, id="screen-traces"),
        Binding("4", "gpu", "GPUs", show=False, id="screen-gpu"),
        Binding("5", "runbook", "Runbook", show=False, id="screen-runbook"),
        Binding("6", "switch_area('timeline')", "Timeline", show=False, id="screen-timeline"),
        Binding("l", "logs", "Logs", show=False, id="logs"),
        Binding("x", "traces", "Traces", show=False, id="traces"),
        Binding("u", "gpu", "GPUs", show=False, id="gpu"),
        Binding("b", "runbook", "Runbook", show=False, id="runbook"),
        Binding("ctrl+s", "screenshot", "Screenshot", show=False, id="screenshot"),
        Binding("s", "silences", "Silences", show=False, id="silences"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        context: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        refresh_seconds: float | None = None,
        read_only: bool = False,
        goto: str | None = None,
        theme: str | None = None,
        env: Mapping[str, str] | None = None,
        allow_insecure: bool = False,
        clock: Callable[[], float] = time.time,
        periodic_refresh: bool = True,
        state_path: Path | None = None,
    ) -> None:
        partial_render.install()
        self.settings = settings
        self.context: Context = settings.context(context)
        self.transport = transport
        self.env = env
        self.allow_insecure = allow_insecure
        self.clock = clock
        self.refresh_seconds = refresh_seconds or settings.refresh_seconds
        self.force_read_only = read_only
        self.goto = goto
        self.periodic_refresh = periodic_refresh
        self.paused = False
        self.time_range = TimeRange()
        self.last_data: TriageData | None = None
        self.first_load = asyncio.Event()
        self.session = self._new_session(self.context)
        self._timer = None
        self._colors: dict[str, str] = {}
        self._triage: TriageScreen | None = None
        # write actions: one audit log, one runner and one timeline per context
        self.state_path = Path(state_path) if state_path is not None else state_dir()
        self.audit = AuditLog(self.state_path / "audit.jsonl")
        self._runners: dict[str, ActionRunner] = {}
        self._timelines: dict[str, Timeline] = {}
        self._previous_alerts: dict[str, list] = {}
        self.until_resolved: list[UntilResolved] = []
        self._expiry_warned: set[str] = set()
        super().__init__()
        # Last line of defence: no control character in rendered text reaches the terminal.
        self._filters.append(TerminalGuard())
        register_themes(self)
        wanted = "oncall-mono" if no_color() else (theme or settings.theme)
        self.theme = wanted if wanted in self.available_themes else "oncall-dark"
        self.set_keymap(dict(settings.keymap))

    # ---------------------------------------------------------------- state --
    @property
    def read_only(self) -> bool:
        return self.force_read_only or self.context.read_only

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return default_theme_variables(self.current_theme)

    def watch_theme(self) -> None:
        self._colors = {}
        screen = self.triage_screen()
        if screen is not None and screen.is_mounted:
            screen.render_data()

    def theme_color(self, name: str) -> str:
        """A theme variable's colour for Rich styles (cells cannot use CSS variables)."""
        if not self._colors:
            self._colors = dict(self.get_css_variables())
        return self._colors.get(name, "")

    def _new_session(self, context: Context) -> BackendSession:
        return BackendSession(
            context,
            transport=self.transport,
            env=self.env,
            allow_insecure=self.allow_insecure,
            clock=self.clock,
            # Never "ok" after 2x the interval (or 5 s) without an answer (DESIGN.md).
            stale_after=max(2 * self.refresh_seconds, 5.0),
            interval=self.refresh_seconds,
        )

    def triage_screen(self) -> TriageScreen | None:
        """The triage screen (it registers itself when mounted), wherever it is in the stacks."""
        return self._triage

    # -------------------------------------------------------------- refresh --
    def start_refresh_timer(self) -> None:
        """First refresh now; then each backend on its own loop, and the header's ages tick
        every second (a hung backend's badge moves to SLOW while nothing answers)."""
        if self._timer is None:
            self.refresh_triage()
            if self.periodic_refresh:
                screen = self.triage_screen()
                if screen is not None:
                    screen.start_loops()
                self._timer = self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        screen = self.triage_screen()
        if screen is not None:
            screen.render_header()

    def record_outages(self) -> None:
        """Backend outages that just ended go on the timeline: the minutes the view was blind."""
        from oncall_tui.actions.timeline import outage_event, outage_window

        for kind, since, until, why in self.session.take_outages():
            try:
                self.timeline().add(outage_event(kind, since, until, why))
            except OSError as exc:
                log.warning("cannot record an outage on the timeline: %s", exc)
            if until - since >= 2 * self.refresh_seconds:  # not for one failed request
                self.notify(
                    sanitize_for_display(f"{kind} answers again; it was not live {outage_window(since, until)} (on the timeline)", max_chars=300),
                    severity="warning",
                    markup=False,
                    timeout=10,
                )
        self.timeline_changed()

    def refresh_triage(self) -> None:
        screen = self.triage_screen()
        if screen is not None:
            screen.refresh_data()

    def set_time_range(self, time_range: TimeRange) -> None:
        self.time_range = time_range
        self.refresh_triage()

    # ``[ ] + - 0`` on the triage and service-detail screens (widgets.keys.TIME_RANGE_BINDINGS)
    def action_pan(self, direction: int) -> None:
        self.set_time_range(self.time_range.pan(self.clock(), direction))

    def action_zoom(self, direction: int) -> None:
        self.set_time_range(self.time_range.zoom(direction))

    def action_live(self) -> None:
        self.set_time_range(self.time_range.to_live())

    def data_loaded(self, data: TriageData, changed: str | None = None) -> None:
        """New data from ``changed`` (a backend; None: all of them)."""
        self.last_data = data
        self._record_alert_changes(data)
        self._check_until_resolved(data)
        self._warn_expiring(data)
        if self.session.outages:
            self.record_outages()
        detail = self._detail_screen()
        if detail is not None:
            detail.render_data(data)
            if changed in (None, "prometheus"):
                detail.load_history()
        answered = all(s.last_ok is not None or s.error is not None for s in self.session.sources.values())
        if not self.first_load.is_set() and answered:
            self.first_load.set()
            self.call_after_refresh(self._report_unfinished_actions)
            if self.goto:
                self.run_command(self.goto)

    # -------------------------------------------------------------- actions --
    def action_help(self) -> None:
        from oncall_tui.screens.overlays import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        rows = []
        seen = set()
        for key, active in self.active_bindings.items():
            b = active.binding
            if b.id in seen or not b.description:
                continue
            seen.add(b.id)
            rows.append((b.key_display or self.get_key_display(b), b.description, b.id or ""))
        self.push_screen(HelpScreen(type(self.screen).__name__.replace("Screen", ""), rows))

    def action_command_line(self) -> None:
        from oncall_tui.screens.overlays import CommandLine

        def done(text: str | None) -> None:
            if text and text.strip(":").strip():
                self.run_command(text)

        self.push_screen(CommandLine(), done)

    def action_switch_area(self, area: str) -> None:
        if area == "triage":
            self.switch_mode("triage")
            return
        if area == "timeline" and area not in self._modes:
            from oncall_tui.screens.timeline import TimelineScreen

            self.add_mode("timeline", TimelineScreen)
        if area not in self._modes:
            from oncall_tui.screens.overlays import PlaceholderScreen

            title, brings = AREAS[area]
            self.add_mode(area, partial(PlaceholderScreen, title, brings))  # type: ignore[arg-type]
        self.switch_mode(area)

    # ------------------------------------------------------------ drill-downs --
    def current_target(self) -> DrillTarget | None:
        """What the responder has selected: on the triage screen an alert or a service; on a
        drill-down screen whatever that screen is about (its ``drill_target``)."""
        target = getattr(self.screen, "drill_target", None)
        if isinstance(target, DrillTarget):
            return target
        screen = self.triage_screen()
        return screen.selected_target() if screen is not None and self.screen is screen else None

    def _default_target(self) -> DrillTarget:
        now = self.clock()
        start, _, _ = self.time_range.window(now)
        return DrillTarget(start, now)

    def action_logs(self) -> None:
        self.open_logs(self.current_target() or self._default_target())

    def action_traces(self) -> None:
        self.open_traces(self.current_target() or self._default_target())

    def action_gpu(self) -> None:
        target = self.current_target()
        self.open_gpu(service=target.service if target else None, target=target)

    def open_logs(self, target: DrillTarget | None = None, *, logql: str | None = None) -> None:
        """The logs of ``target`` (LogQL from its labels) or of an explicit LogQL query."""
        from oncall_tui.screens.logs import LogsScreen

        self.push_screen(LogsScreen(target or self._default_target(), logql=logql))

    def open_traces(self, target: DrillTarget) -> None:
        """The slowest and failing traces of ``target``, plus its latency exemplars."""
        from oncall_tui.screens.traces import TraceListScreen

        self.push_screen(TraceListScreen(target))

    def open_trace(self, trace_id: str, *, span_id: str | None = None) -> None:
        """One trace's waterfall (``span_id`` selected when given)."""
        from oncall_tui.screens.waterfall import WaterfallScreen

        self.push_screen(WaterfallScreen(trace_id, span_id=span_id))

    def open_gpu(
        self, *, node: str | None = None, service: str | None = None, target: DrillTarget | None = None
    ) -> None:
        """The GPU view: local NVML GPUs and the dcgm fleet; ``node``/``service`` narrow the fleet,
        ``target`` (an alert naming a GPU) selects that GPU."""
        from oncall_tui.screens.gpu import GpuScreen

        if isinstance(self.screen, GpuScreen):
            self.pop_screen()  # :gpu NODE on the GPU screen replaces it
        self.push_screen(GpuScreen(node=node, service=service, target=target))

    def action_screenshot(self) -> None:
        path = self.save_screenshot()
        self.notify(
                sanitize_for_display(f"screenshot saved to {path}"), markup=False)

    def _detail_screen(self) -> ServiceDetailScreen | None:
        """The current screen if it is a service detail. The detail module (plotext charts)
        loads with the first detail opened, not at start-up: until then there is none."""
        module = sys.modules.get("oncall_tui.screens.detail")
        if module is None or not isinstance(self.screen, module.ServiceDetailScreen):
            return None
        return self.screen  # type: ignore[return-value]

    def open_service(self, name: str) -> None:
        data = self.last_data
        if data is not None and any(s.name == name for s in data.services):
            from oncall_tui.screens.detail import ServiceDetailScreen

            self.switch_mode("triage")
            if self._detail_screen() is not None:
                self.pop_screen()
            self.push_screen(ServiceDetailScreen(name))
        else:
            known = ", ".join(s.name for s in data.services) if data else "(no data yet)"
            self.notify(
                sanitize_for_display(f"no service {sanitize_for_display(name, max_chars=64)!r}; known: {known}"),
                severity="warning",
                markup=False,
            )

    def focus_alert_service(self, service: str | None) -> None:
        screen = self.triage_screen()
        self.switch_mode("triage")
        if screen is not None and service:
            screen.narrow_to = service
            screen.render_data()

    def run_command(self, text: str) -> None:
        try:
            command = parse_command(text)
        except CommandError as exc:
            self.notify(
                sanitize_for_display(str(exc)), severity="error", markup=False)
            return
        if command.verb == "q":
            self.exit(0)
        elif command.verb == "triage":
            self.switch_mode("triage")
        elif command.verb == "svc":
            self.open_service(command.arg)
        elif command.verb == "theme":
            if command.arg in self.available_themes:
                self.theme = command.arg
            else:
                self.notify(
                sanitize_for_display(f"no theme {command.arg!r}; known: {', '.join(sorted(self.available_themes))}"), severity="error", markup=False)
        elif command.verb == "ctx":
            self.switch_context(command.arg)
        elif command.verb == "logs":
            if command.arg:
                self.open_logs(logql=command.arg)
            else:
                self.action_logs()
        elif command.verb == "trace":
            if command.arg:
                self.open_trace(command.arg)
            else:
                self.action_traces()
        elif command.verb == "gpu":
            self.open_gpu(node=command.arg or None)
        elif command.verb == "silences":
            self.action_silences()
        elif command.verb == "timeline":
            self.action_switch_area("timeline")
        elif command.verb == "retry":
            self.action_retry()
        elif command.verb == "runbook":
            self.action_runbook()

    def switch_context(self, name: str) -> None:
        if name not in self.settings.contexts:
            known = ", ".join(self.settings.contexts)
            self.notify(
                sanitize_for_display(f"no context {name!r}; known: {known}"), severity="error", markup=False)
            return
        old = self.session
        self.context = self.settings.context(name)
        self.session = self._new_session(self.context)
        self.last_data = None
        self.run_worker(old.aclose(), exit_on_error=False)
        self.switch_mode("triage")
        while len(self.screen_stack) > 1:  # drill-downs belong to the old context
            self.pop_screen()
        screen = self.triage_screen()
        if screen is not None:
            screen.data = None
            screen.render_header()
            if self.periodic_refresh and self._timer is not None:
                screen.start_loops()  # the old session's loops end with it
        self.refresh_triage()

    async def on_unmount(self) -> None:
        await self.session.aclose()

    def on_mount(self) -> None:
        if not self.is_headless:  # tests drive handle_signal directly; a real terminal gets handlers
            self._install_signal_handlers()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.handle_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
                pass

    def handle_signal(self, sig: signal.Signals) -> None:
        """SIGHUP (SSH dropped) / SIGTERM: mark every in-flight write interrupted, then leave.

        Processes (rollbacks, runbook steps) run in their own session and keep running; the
        next start lists the interrupted actions with their output files.
        """
        for runner in self._runners.values():
            runner.record_interrupted(f"{sig.name} (terminal closed or app stopped) while the action was in flight")
        self.exit(return_code=128 + int(sig))

    def _report_unfinished_actions(self) -> None:
        """At start: actions cut short earlier (no result) and failed writes kept for retry."""
        from oncall_tui.actions.core import interrupted_summary

        try:
            interrupted = self.audit.interrupted()
            failed = [r for r in self.audit.failed() if r.get("context") in (None, self.context.name)]
        except OSError as exc:
            log.warning("cannot read the audit log: %s", exc)
            return
        if interrupted:
            lines = [interrupted_summary(r) for r in interrupted[-3:]]
            more = f" (+{len(interrupted) - 3} more)" if len(interrupted) > 3 else ""
            self.notify(
                "\n".join(lines) + more + "\ncheck their effect; the audit log has each intent",
                title=f"{len(interrupted)} interrupted action(s) from an earlier session",
                severity="warning",
                markup=False,
                timeout=30,
            )
        if failed:
            self.notify(
                f"{len(failed)} failed write(s) kept for retry: :retry (or r on the timeline)",
                severity="warning",
                markup=False,
                timeout=15,
            )

    # ------------------------------------------------- write actions + timeline --
    def action_runner(self) -> ActionRunner:
        """The runner of the current context (read-only when the context or ``--readonly`` says so)."""
        name = self.context.name
        runner = self._runners.get(name)
        if runner is None:
            runner = ActionRunner.for_context(
                self.context,
                audit=self.audit,
                user=self.settings.effective_identity,
                read_only=self.force_read_only,
                timeline=self.timeline(),
                clock=self.clock,
            )
            self._runners[name] = runner
        return runner

    def timeline(self, context_name: str | None = None) -> Timeline:
        name = context_name or self.context.name
        if name not in self._timelines:
            self._timelines[name] = Timeline(timeline_path(self.state_path, name))
        return self._timelines[name]

    def timeline_changed(self) -> None:
        """Redraw the timeline screen if it exists."""
        from oncall_tui.screens.timeline import TimelineScreen

        for screen in self.screen_stack:
            if isinstance(screen, TimelineScreen):
                screen.reload()

    def add_note(self, text: str) -> None:
        """A note on the local timeline (allowed when read-only) and, when the context has a
        grafana endpoint with annotations enabled and is not read-only, a Grafana annotation
        posted in a worker through the action runner (audited; a failed post is kept for retry)."""
        from oncall_tui.actions.annotations import annotations_configured, post_note
        from oncall_tui.actions.core import ActionError, ActionFailed, safe_error

        now = datetime.fromtimestamp(self.clock(), UTC)
        event = TimelineEvent(at=now, kind="note", text=text, detail={"by": self.settings.effective_identity})
        try:
            self.timeline().add(event)
        except OSError as exc:
            self.notify(sanitize_for_display(f"could not write the timeline: {exc}"), severity="error", markup=False)
            if not annotations_configured(self.context) or self.read_only:
                return
        else:
            self.timeline_changed()
        if not annotations_configured(self.context):
            self.notify("note added to the timeline", markup=False)
            return
        if self.read_only:
            self.notify("note added to the timeline (local only: read-only context, nothing sent to Grafana)", markup=False)
            return
        self.notify("note added to the timeline; posting it to Grafana", markup=False)
        runner, session, context = self.action_runner(), self.session, self.context

        async def post() -> None:
            try:
                annotation_id = await post_note(
                    runner, session.grafana, context, text, at=now, client_error=session.grafana_error
                )
            except ActionFailed as exc:
                message = f"note kept locally; Grafana post failed: {safe_error(exc.error)} (kept for retry)"
                self.notify(sanitize_for_display(message, max_chars=600), severity="error", markup=False, timeout=15)
            except (ActionError, ValueError) as exc:  # read-only, no audit trail, unusable text
                reason = str(exc) if isinstance(exc, ActionError) else safe_error(exc)
                message = f"note kept locally; not posted to Grafana: {reason}"
                self.notify(sanitize_for_display(message, max_chars=600), severity="warning", markup=False, timeout=15)
            else:
                self.notify(f"note posted to Grafana (annotation {annotation_id})", markup=False)
            self.timeline_changed()

        self.run_worker(post(), group="actions", exit_on_error=False, description="Grafana annotation")

    def _known_alerts(self, context_name: str) -> list:
        """The alerts the timeline last saw firing, so a restart does not repeat "started firing"."""
        from oncall_tui.core.triage import TriageAlert

        last: dict[str, dict] = {}
        try:
            events = self.timeline(context_name).events()
        except OSError:
            return []
        for e in events:
            if e.kind == "alert":
                key = str(e.detail.get("fingerprint") or e.detail.get("labels") or e.text)
                last[key] = e.detail
        out = []
        for d in last.values():
            if d.get("change") == "resolved":
                continue
            try:
                out.append(
                    TriageAlert(
                        name=str(d.get("alertname") or "?"),
                        severity=str(d.get("severity") or ""),
                        service=d.get("service"),
                        summary=str(d.get("summary") or ""),
                        state=str(d.get("state") or "firing"),
                        state_detail=str(d.get("state_detail") or ""),
                        starts_at=None,
                        labels=dict(d.get("labels") or {}),
                        annotations={},
                        fingerprint=d.get("fingerprint"),
                    )
                )
            except (TypeError, ValueError):
                continue
        return out

    def _record_alert_changes(self, data: TriageData) -> None:
        name = data.context or self.context.name
        am = data.sources.get("alertmanager")
        if am is not None and (am.error or am.last_ok is None):
            return  # a failed or not yet answered fetch is not "every alert resolved"
        previous = self._previous_alerts.get(name)
        if previous is None:
            previous = self._known_alerts(name)
        self._previous_alerts[name] = list(data.alerts)
        now = datetime.fromtimestamp(data.fetched_at or self.clock(), UTC)
        events = alert_changes(previous, data.alerts, now)
        if not events:
            return
        try:
            self.timeline(name).extend(events)
        except OSError as exc:
            log.warning("could not write the timeline: %s", exc)
        self.timeline_changed()

    def silence_warning_window(self) -> timedelta:
        """How long before one of your silences expires the app warns (``silences.expiry_warning``)."""
        return timedelta(seconds=duration_seconds(self.settings.silences.expiry_warning))

    def _warn_expiring(self, data: TriageData) -> None:
        """Warn once per silence you created that ends within ``silences.expiry_warning``."""
        from oncall_tui.actions.silences import expiring_soon, format_matchers

        if not data.silences:
            return
        now = datetime.fromtimestamp(data.fetched_at or self.clock(), UTC)
        mine = expiring_soon(
            data.silences, created_by=self.settings.effective_identity, within=self.silence_warning_window(), now=now
        )
        for silence, left in mine:
            if silence.id in self._expiry_warned:
                continue
            self._expiry_warned.add(silence.id)
            minutes = max(1, round(left.total_seconds() / 60))
            self.notify(
                sanitize_for_display(
                    f"your silence {format_matchers(silence.matchers)} expires in {minutes}m "
                    "(s: silences view, E extends)",
                    max_chars=300,
                ),
                title="Silence expiring",
                severity="warning",
                markup=False,
                timeout=30,
            )

    def _check_until_resolved(self, data: TriageData) -> None:
        if not self.until_resolved or self.read_only or self.session.alertmanager is None:
            return
        now = datetime.fromtimestamp(data.fetched_at or self.clock(), UTC)
        for item in list(self.until_resolved):
            if item.should_expire(data.alerts, now=now):
                self.until_resolved.remove(item)
                self.run_worker(self._expire_resolved(item.silence_id), group="actions", exit_on_error=False)

    async def _expire_resolved(self, silence_id: str) -> None:
        from oncall_tui.actions.silences import expire

        am = self.session.alertmanager
        try:
            assert am is not None
            await expire(self.action_runner(), am, silence_id)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            from oncall_tui.screens.actions import notify_error

            notify_error(self, "expiring a resolved silence failed", exc)
            return
        self.notify(sanitize_for_display(f"alerts resolved: silence {silence_id} expired"), markup=False)

    def action_silences(self) -> None:
        from oncall_tui.screens.silences import SilencesScreen

        if not isinstance(self.screen, SilencesScreen):
            self.push_screen(SilencesScreen())

    def action_silence_alert(self) -> None:
        from oncall_tui.screens.actions import start_silence

        start_silence(self)

    def action_ack_alert(self) -> None:
        from oncall_tui.screens.actions import start_ack

        start_ack(self)

    def action_annotate(self) -> None:
        """``N``: a note on the timeline (and a Grafana annotation when one is configured)."""
        from oncall_tui.screens.actions import NoteScreen

        def done(text: str | None) -> None:
            if text and text.strip():
                self.add_note(text.strip())

        self.push_screen(NoteScreen(), done)

    def annotate_action(self, kind: str, target: str, detail: str = "") -> None:
        """After a successful write: a Grafana annotation when configured (SECURITY R6.6).

        Runs in a worker; a failed post is kept in the audit log for ``:retry``, never dropped.
        """
        from oncall_tui.actions.annotations import annotations_configured

        if self.read_only or not annotations_configured(self.context):
            return
        runner, session, context, at = self.action_runner(), self.session, self.context, self.clock()

        async def post() -> None:
            from oncall_tui.actions.annotations import annotate_action

            outcome = await annotate_action(
                runner,
                session.grafana,
                context,
                action_kind=kind,
                target=target,
                detail=detail,
                at=at,
                client_error=session.grafana_error,
            )
            if outcome.error:
                self.notify(
                    sanitize_for_display(f"Grafana annotation of the {kind} failed (kept for :retry): {outcome.error}"),
                    severity="warning",
                    markup=False,
                )

        self.run_worker(post(), group="annotations", exit_on_error=False)

    def action_retry(self) -> None:
        """``:retry`` / ``r`` on the timeline: failed writes kept for retry (retry or dismiss)."""
        from oncall_tui.screens.retry import open_failed_writes

        open_failed_writes(self)

    def action_rollback(self) -> None:
        """``R``: roll back the selected service (confirmation first; refused when read-only)."""
        from oncall_tui.screens.rollback import start_rollback

        start_rollback(self)

    def action_runbook(self) -> None:
        """``b`` / ``5``: the runbook of the selected alert (or service)."""
        from oncall_tui.screens.runbook import open_runbook

        open_runbook(self, self.current_target())

