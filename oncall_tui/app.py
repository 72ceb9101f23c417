"""The Textual shell: modes per area, keymap, command line, palette, context switching.

What happens during an incident lives in :mod:`oncall_tui.incident` (no Textual); this class
composes the screens, routes keys and messages to them, and turns the incident's answers
(:class:`~oncall_tui.incident.Notice`) into notifications. Screens reach it only through
:class:`~oncall_tui.screens.shell.Shell` and the messages in that module.
"""

from __future__ import annotations

import gc

# Start-up: the imports below build a few hundred thousand objects (Textual, Rich, httpx,
# pydantic's and msgspec's types) that live as long as the process. Collections during them
# find nothing; paused, the app reaches its first frame ~30 ms sooner. Frozen afterwards, the
# collector never walks them again (every later full collection in the running app is cheaper).
_collecting = gc.isenabled()
gc.disable()
try:
    import asyncio
    import signal
    import time
    from collections.abc import Callable, Mapping
    from functools import partial
    from pathlib import Path

    import httpx
    from textual.app import App
    from textual.binding import Binding

    from oncall_tui.actions.audit import AuditLog, state_dir
    from oncall_tui.clients.session import TriageData
    from oncall_tui.core.commands import CommandError, parse_command
    from oncall_tui.core.timerange import TimeRange
    from oncall_tui.flows.keys import WriteKeys
    from oncall_tui.incident import Incident, Notice
    from oncall_tui.models.gcpause import GcPause
    from oncall_tui.navigation import Navigation
    from oncall_tui.palette import OncallCommands
    from oncall_tui.screens import shell
    from oncall_tui.screens.shell import tell
    from oncall_tui.screens.triage import TriageScreen
    from oncall_tui.settings import Context, Settings
    from oncall_tui.themes import default_theme_variables, no_color, register_themes
    from oncall_tui.widgets import partial_render
    from oncall_tui.widgets.display import TerminalGuard
finally:
    gc.freeze()
    if _collecting:
        gc.enable()

#: At most this long from start-up with the collector paused (a backend may never answer).
STARTUP_GC_PAUSE = 3.0

AREAS = {
    "runbook": ("Runbook", "Runbooks and their steps arrive with the actions part (silences, rollback, runbooks)."),
}


class OncallApp(Navigation, WriteKeys, App[int]):
    """oncall-tui. Screens never do I/O themselves: workers call the incident's session."""

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
        self.settings, self.clock, self.goto = settings, clock, goto
        #: How the handoff's deep links start the app (None: ``oncall-tui --context NAME``).
        self.deep_link_prefix: str | None = None
        self.refresh_seconds = refresh_seconds or settings.refresh_seconds
        self.periodic_refresh, self.paused, self.time_range = periodic_refresh, False, TimeRange()
        self.state_path = Path(state_path) if state_path is not None else state_dir()
        self.audit = AuditLog(self.state_path / "audit.jsonl")
        self._new_incident = partial(
            Incident, settings, audit=self.audit, state_path=self.state_path, refresh_seconds=self.refresh_seconds,
            clock=clock, force_read_only=read_only, transport=transport, env=env, allow_insecure=allow_insecure,
        )  # fmt: skip
        self.incident: Incident = self._new_incident(settings.context(context))
        self._incidents = {self.incident.context.name: self.incident}  # writes in flight live on
        self.first_load = asyncio.Event()
        self._colors: dict[str, str] = {}
        self._triage: TriageScreen | None = None
        super().__init__()
        self._modes["triage"] = self._triage_screen
        self._filters.append(TerminalGuard())  # no control character in rendered text reaches the terminal
        register_themes(self)
        wanted = "oncall-mono" if no_color() else (theme or settings.theme)
        self.theme = wanted if wanted in self.available_themes else "oncall-dark"
        self.set_keymap(dict(settings.keymap))

    # ---------------------------------------------------------------- state --
    @property
    def context(self) -> Context:
        return self.incident.context

    @property
    def read_only(self) -> bool:
        return self.incident.read_only

    def _triage_screen(self) -> TriageScreen:
        self._triage = TriageScreen()
        return self._triage

    def triage_screen(self) -> TriageScreen | None:
        return self._triage

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return default_theme_variables(self.current_theme)

    def watch_theme(self) -> None:
        self._colors = {}
        if self._triage is not None and self._triage.is_mounted:
            self._triage.render_data()

    def theme_color(self, name: str) -> str:
        if not self._colors:
            self._colors = dict(self.get_css_variables())
        return self._colors.get(name, "")

    # -------------------------------------------------------------- refresh --
    def on_refresh_now(self, _: shell.RefreshNow) -> None:
        self.refresh_triage()

    def refresh_triage(self) -> None:
        if self._triage is not None:
            self._triage.refresh_data()

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

    def on_data_loaded(self, message: shell.DataLoaded) -> None:
        self.data_loaded(message.data, message.kind)

    async def _shared_annotations(self) -> None:
        """Other hosts' oncall-tui annotations (Grafana) onto this context's timeline view."""
        for notice in await self.incident.fetch_shared_annotations():
            tell(self, notice)

    def data_loaded(self, data: TriageData, changed: str | None = None) -> None:
        """New data from ``changed`` (a backend; None: all of them): the incident observes it."""
        observed = self.incident.observe(data)
        for notice in observed.notices:
            tell(self, notice)
        for silence_id in observed.to_expire:
            self.run_worker(self._expire_resolved(silence_id), group="actions", exit_on_error=False)
        if self.incident.shared_annotations_due():
            self.run_worker(self._shared_annotations(), group="shared-annotations", exclusive=True, exit_on_error=False)
        follow = getattr(self.screen, "follow_triage", None)  # the service detail follows the data
        if follow is not None:
            follow(data, changed)
        if not self.first_load.is_set() and self.incident.answered():
            self.first_load.set()
            self.call_after_refresh(self._started)
            if self.goto:
                self.run_command(self.goto)

    async def _expire_resolved(self, silence_id: str) -> None:
        try:
            await self.incident.expire(silence_id)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            from oncall_tui.screens.actions import notify_error

            notify_error(self, "expiring a resolved silence failed", exc)
            return
        tell(self, Notice(f"alerts resolved: silence {silence_id} expired"))

    # -------------------------------------------------------------- screens --
    def action_help(self) -> None:
        from oncall_tui.screens.overlays import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        rows, seen = [], set()
        for b in (active.binding for active in self.active_bindings.values()):
            if b.description and b.id not in seen:
                seen.add(b.id)
                rows.append((b.key_display or self.get_key_display(b), b.description, b.id or ""))
        notes = tuple(getattr(self.screen, "HELP_NOTES", ()))
        self.push_screen(HelpScreen(type(self.screen).__name__.replace("Screen", ""), rows, notes=notes))

    def action_command_line(self) -> None:
        from oncall_tui.screens.overlays import CommandLine

        self.push_screen(CommandLine(), lambda text: self.run_command(text) if text and text.strip(":").strip() else None)

    def action_switch_area(self, area: str) -> None:
        if area == "timeline" and area not in self._modes:
            from oncall_tui.screens.timeline import TimelineScreen

            self.add_mode("timeline", TimelineScreen)
        if area not in self._modes:
            from oncall_tui.screens.overlays import PlaceholderScreen

            self.add_mode(area, partial(PlaceholderScreen, *AREAS[area]))  # type: ignore[arg-type]
        self.switch_mode(area)

    def action_handoff(self) -> None:
        """``:handoff``: the handoff of the current context from its last data, timeline and audit log."""
        from oncall_tui.incident.handoff import incident_handoff
        from oncall_tui.screens.handoff import HandoffScreen

        try:
            text = incident_handoff(self.incident, launch=self.deep_link_prefix)
        except OSError as exc:
            tell(self, Notice(f"cannot read the timeline or the audit log: {exc.strerror or exc}", "error"))
            return
        if isinstance(self.screen, HandoffScreen):
            self.pop_screen()
        self.push_screen(HandoffScreen(text))

    def action_screenshot(self) -> None:
        tell(self, Notice(f"screenshot saved to {self.save_screenshot()}"))

    # ------------------------------------------------------- commands, contexts --
    def run_command(self, text: str) -> None:
        try:
            command = parse_command(text)
        except CommandError as exc:
            tell(self, Notice(str(exc), "error"))
            return
        arg = command.arg
        handlers: dict[str, Callable[[], object]] = {
            "q": lambda: self.exit(0),
            "triage": lambda: self.switch_mode("triage"),
            "svc": lambda: self.open_service(arg),
            "theme": lambda: self.set_theme(arg),
            "ctx": lambda: self.switch_context(arg),
            "logs": lambda: self.open_logs(logql=arg) if arg else self.action_logs(),
            "trace": lambda: self.open_trace(arg) if arg else self.action_traces(),
            "gpu": lambda: self.open_gpu(node=arg or None),
            "silences": self.action_silences,
            "timeline": lambda: self.action_switch_area("timeline"),
            "retry": self.action_retry,
            "runbook": self.action_runbook,
            "handoff": self.action_handoff,
        }
        handlers[command.verb]()

    def set_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name
        else:
            tell(self, Notice(f"no theme {name!r}; known: {', '.join(sorted(self.available_themes))}", "error"))

    def switch_context(self, name: str) -> None:
        if name not in self.settings.contexts:
            tell(self, Notice(f"no context {name!r}; known: {', '.join(self.settings.contexts)}", "error"))
            return
        self.run_worker(self.incident.session.aclose(), exit_on_error=False)
        incident = self._incidents.get(name)
        if incident is None:
            incident = self._incidents[name] = self._new_incident(self.settings.context(name))
        else:
            incident.open_session()
        self.incident = incident
        self.switch_mode("triage")
        while len(self.screen_stack) > 1:  # drill-downs belong to the old context
            self.pop_screen()
        if self._triage is not None:
            self._triage.context_switched()

    def on_load(self) -> None:
        # Start-up to the first frame with data: nothing built meanwhile is garbage (see the
        # imports above); the collector comes back then, or after STARTUP_GC_PAUSE at most.
        self._startup_gc = GcPause()
        self.set_timer(STARTUP_GC_PAUSE, self._startup_gc.end)

    def _started(self) -> None:
        """The first frame with data is on screen."""
        self._startup_gc.end()
        for notice in self.incident.unfinished():
            tell(self, notice)

    async def on_unmount(self) -> None:
        self._startup_gc.end()
        await self.incident.session.aclose()

    def on_mount(self) -> None:
        if not self.is_headless:  # tests drive handle_signal directly; a real terminal gets handlers
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, self.handle_signal, sig)
                except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
                    pass

    def handle_signal(self, sig: signal.Signals) -> None:
        """SIGHUP (SSH dropped) / SIGTERM: mark every in-flight write interrupted, then leave.
        Processes (rollbacks, runbook steps) keep running; the next start lists them."""
        for incident in self._incidents.values():
            incident.record_interrupted(f"{sig.name} (terminal closed or app stopped) while the action was in flight")
        self.exit(return_code=128 + int(sig))
