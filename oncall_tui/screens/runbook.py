"""``b`` / ``5``: the selected alert's runbook, rendered in the terminal, with runnable steps.

The runbook comes from a local directory (``<alertname>.md``, then the service's ``runbook``
file) or the alert's ``runbook_url`` annotation (fetched by
:class:`~oncall_tui.clients.runbook.RunbookFetcher`: https, allow-listed hosts, no datasource
credentials, size cap). Rendering is done here with Rich ``Text`` from the parsed blocks: the
runbook is never parsed as markup and every string is sanitised (ESC, OSC 52 and friends show
as visible ``\\x1b`` text); links are shown as ``text <url>`` and never opened, blocked targets
marked.

Keys: ``n``/``j`` next step, ``p``/``k`` previous, ``enter``/``r`` runs the selected step —
PromQL/LogQL read-only, results shown under the step and recorded on the timeline; ``sh`` only
from a local runbook in a writable context, after a confirmation that shows the exact argv
(Cancel focused; protected contexts type the target). ``esc`` goes back.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from oncall_tui.actions.core import ActionError, Preview, safe_error
from oncall_tui.actions.runbook import (
    StepDisabled,
    plan_shell_step,
    prepare_query,
    record_query,
    run_query_step,
    run_shell_step,
    shell_step_reason,
)
from oncall_tui.clients.runbook import Runbook, RunbookFetcher, RunbookLookup
from oncall_tui.core.runbook import Block, ParsedRunbook, Step, parse_runbook
from oncall_tui.core.target import DrillTarget
from oncall_tui.screens.actions import ConfirmScreen, notify_error, typed_target
from oncall_tui.screens.shell import ShellAccess
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.widgets.footer import KeyHints
from oncall_tui.widgets.runbook import (
    Palette,
    render_block,
    render_output,
    render_query,
    render_step,
)

if TYPE_CHECKING:
    from textual.app import App

    from oncall_tui.core.triage import TriageAlert

def _s(value: Any, max_chars: int | None = 2000, *, multiline: bool = False) -> str:
    return sanitize_for_display(str(value), max_chars=max_chars, multiline=multiline)


def short_path(path: str) -> str:
    """The path relative to the working directory when inside it, else ``~/x`` under home."""
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    if cwd not in ("", "/") and path.startswith(cwd + os.sep):
        return path[len(cwd) + 1 :]
    home = os.path.expanduser("~")
    if home not in ("", "/") and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


def _chunks(parsed: ParsedRunbook) -> list[tuple[str, Any]]:
    """Consecutive prose blocks grouped (one widget each), each step on its own."""
    out: list[tuple[str, Any]] = []
    prose: list[Block] = []
    for block in parsed.blocks:
        if block.step is not None:
            if prose:
                out.append(("prose", prose))
                prose = []
            out.append(("step", parsed.steps[block.step]))
        else:
            prose.append(block)
    if prose:
        out.append(("prose", prose))
    return out


# ---------------------------------------------------------------------- screen --
class RunbookScreen(ShellAccess, Screen):
    """Pushed by ``b`` / ``5``; ``esc`` goes back."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="runbook-back"),
        Binding("q", "back", "Back", show=False, id="runbook-back-q"),
        Binding("n", "next_step", "Next step", id="runbook-next"),
        Binding("j", "next_step", "Next step", show=False, id="runbook-next-j"),
        Binding("p", "previous_step", "Prev step", id="runbook-previous"),
        Binding("k", "previous_step", "Prev step", show=False, id="runbook-previous-k"),
        Binding("enter", "run_step", "Run step", id="runbook-run"),
        Binding("r", "run_step", "Run step", show=False, id="runbook-run-r"),
    ]

    DEFAULT_CSS = """
    RunbookScreen { layout: vertical; }
    RunbookScreen #runbook-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    RunbookScreen #runbook-source { height: auto; max-height: 6; background: $panel; color: $foreground-muted; padding: 0 1; }
    RunbookScreen #runbook-body { height: 1fr; padding: 0 1; }
    RunbookScreen #runbook-body > Static { height: auto; }
    RunbookScreen #runbook-body > .rb-prose { margin: 1 0 0 0; }
    RunbookScreen #runbook-body > .rb-result { margin: 0 0 0 2; }
    RunbookScreen #runbook-status { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(
        self,
        target: DrillTarget,
        *,
        alert: TriageAlert | None = None,
        fetcher: RunbookFetcher | None = None,
    ) -> None:
        super().__init__()
        self.drill_target = target
        self.alert = alert
        self._fetcher = fetcher
        self._own_fetcher = fetcher is None
        self.lookup: RunbookLookup | None = None
        self.parsed: ParsedRunbook | None = None
        self.selected: int | None = None
        self.results: dict[int, RenderableType] = {}
        self.running: set[int] = set()
        self.fetching = True

    # ------------------------------------------------------------ accessors --

    @property
    def runbook(self) -> Runbook | None:
        return self.lookup.runbook if self.lookup is not None else None

    @property
    def steps(self) -> list[Step]:
        return self.parsed.steps if self.parsed is not None else []

    @property
    def labels(self) -> Mapping[str, str]:
        if self.alert is not None:
            return dict(self.alert.labels)
        return dict(self.drill_target.labels)

    @property
    def service(self) -> str:
        return self.drill_target.service or (self.alert.service if self.alert and self.alert.service else "") or ""

    @property
    def target_name(self) -> str:
        """What a protected context makes you type: the service, else the alert name."""
        return self.service or self.drill_target.alert or ""

    def palette(self) -> Palette:
        try:
            background = Color.parse(self.shell.theme_color("background"))
        except Exception:  # noqa: BLE001 - a theme without a background variable
            background = Color(0, 0, 0)

        def color(name: str, fallback: str) -> str:
            try:  # theme colours may be translucent: blend them over the background
                return (background + Color.parse(self.shell.theme_color(name))).hex6
            except Exception:  # noqa: BLE001 - a theme without that variable
                return fallback

        return Palette(
            accent=color("accent", "cyan"),
            link=color("primary", "blue"),
            blocked=color("error", "red"),
            muted=color("foreground-muted", "grey50"),
            code=color("warning", "yellow"),
        )

    def fetcher(self) -> RunbookFetcher:
        if self._fetcher is None:
            settings = self.incident.settings
            source = settings.source_path
            self._fetcher = RunbookFetcher(settings.runbooks, base_dir=source.parent if source else None)
        return self._fetcher

    # --------------------------------------------------------------- layout --
    def compose(self) -> ComposeResult:
        yield Static("", id="runbook-title", markup=False)
        yield Static("", id="runbook-source", markup=False)
        yield VerticalScroll(id="runbook-body")
        yield Static("", id="runbook-status", markup=False)
        yield KeyHints()

    def on_mount(self) -> None:
        what = self.drill_target.alert or self.drill_target.service or "?"
        self._title(f"RUNBOOK · {_s(what, 120)} · loading…")
        self.query_one("#runbook-source", Static).update(Text("looking for the runbook…"))
        self.query_one("#runbook-body", VerticalScroll).focus()
        self.run_worker(self._load(), group="runbook-load", exclusive=True, exit_on_error=False)

    async def on_unmount(self) -> None:
        if self._own_fetcher and self._fetcher is not None:
            await self._fetcher.aclose()

    def _title(self, text: str) -> None:
        ro = "  READ-ONLY" if self.incident.read_only else ""
        self.query_one("#runbook-title", Static).update(Text(f"{self.incident.context.name} · {text}{ro}"))

    # ----------------------------------------------------------------- load --
    async def _load(self) -> None:
        target = self.drill_target
        service = self.incident.context.service(target.service) if target.service else None
        annotations = dict(self.alert.annotations) if self.alert is not None else {}
        try:
            lookup = await self.fetcher().find(
                target.alert, annotations=annotations, service_runbook=service.runbook if service else None
            )
            parsed = None
            if lookup.runbook is not None:
                hosts = self.incident.settings.runbooks.allowed_hosts
                parsed = await asyncio.to_thread(parse_runbook, lookup.runbook.text, hosts)
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            self.fetching = False
            self._title("RUNBOOK · error")
            self.query_one("#runbook-source", Static).update(Text("could not load the runbook: " + safe_error(exc)))
            return
        self.fetching = False
        self.lookup = lookup
        self.parsed = parsed
        await self._show()

    async def _show(self) -> None:
        lookup = self.lookup
        assert lookup is not None
        what = self.drill_target.alert or self.drill_target.service or "?"
        source = self.query_one("#runbook-source", Static)
        body = self.query_one("#runbook-body", VerticalScroll)
        rb = lookup.runbook
        palette = self.palette()
        if rb is None or self.parsed is None:
            self._title(f"RUNBOOK · {_s(what, 120)} · not found")
            text = Text("No runbook found. Looked in:", style="bold")
            for line in lookup.tried:
                text.append("\n  • " + _s(line, 600))
            source.update(text)
            self._status("nothing to run · esc back")
            return
        title = self.parsed.title or what
        self._title(f"RUNBOOK · {_s(title, 120)}")
        if rb.source == "local":
            head = Text.assemble(("local ", "bold"), _s(short_path(rb.origin), 400))
        else:
            head = Text.assemble(
                ("url ", "bold"), _s(rb.origin, 400), ("  DISPLAY-ONLY", f"bold reverse {palette.blocked}")
            )
        if rb.truncated:
            head.append("  TRUNCATED", style=f"bold {palette.blocked}")
        if rb.note and rb.source == "local":
            head.append("\n" + _s(rb.note, 300), style=palette.blocked)
        if lookup.url and rb.source == "local":
            head.append("\nalso: runbook_url " + _s(lookup.url, 300) + " (not fetched: the local runbook wins)", style=palette.muted)
        source.update(head)
        widgets: list[Static] = []
        for n, (kind, item) in enumerate(_chunks(self.parsed)):
            if kind == "prose":
                parts = [render_block(b, palette) for b in item]
                widgets.append(Static(Group(*_spaced(parts)), classes="rb-prose", markup=False, id=f"rb-prose-{n}"))
            else:
                step: Step = item
                widgets.append(Static(self._step_renderable(step, palette), classes="rb-step", markup=False, id=f"step-{step.index}"))
                result = Static("", classes="rb-result", markup=False, id=f"step-result-{step.index}")
                result.display = False
                widgets.append(result)
        await body.mount_all(widgets)
        if self.steps:
            self.select(0, scroll=False)
        else:
            self._status("this runbook has no runnable steps · esc back")

    # ---------------------------------------------------------------- steps --
    def step_reason(self, step: Step) -> str | None:
        """Why ``step`` cannot run here, or None."""
        rb = self.runbook
        if rb is None:
            return "no runbook"
        if not rb.runnable:
            return rb.note or "display-only"
        if step.is_query:
            return None
        return shell_step_reason(runnable=rb.runnable, read_only=self.incident.read_only, note=rb.note)

    def step_status(self, step: Step) -> str:
        if step.index in self.running:
            return "running…"
        reason = self.step_reason(step)
        if reason is not None:
            return "disabled" if self.runbook and self.runbook.runnable else "display-only"
        return "enter runs (read-only)" if step.is_query else "enter: confirm & run"

    def _step_renderable(self, step: Step, palette: Palette | None = None) -> RenderableType:
        return render_step(step, selected=step.index == self.selected, status=self.step_status(step), palette=palette or self.palette())

    def _refresh_step(self, index: int) -> None:
        if not self.is_mounted or index >= len(self.steps):
            return
        try:
            widget = self.query_one(f"#step-{index}", Static)
        except Exception:  # noqa: BLE001 - not mounted yet
            return
        widget.update(self._step_renderable(self.steps[index]))

    def select(self, index: int, *, scroll: bool = True) -> None:
        if not self.steps:
            return
        index = max(0, min(index, len(self.steps) - 1))
        old = self.selected
        self.selected = index
        if old is not None and old != index:
            self._refresh_step(old)
        self._refresh_step(index)
        if scroll:
            self.query_one("#runbook-body", VerticalScroll).scroll_to_widget(
                self.query_one(f"#step-{index}"), animate=False, top=True
            )
        step = self.steps[index]
        reason = self.step_reason(step)
        where = f"{step.label}" + (f" — {step.title}" if step.title else "")
        if reason:
            self._status(f"{where} · disabled: {reason}")
        else:
            verb = "enter runs it (read-only)" if step.is_query else "enter: confirm & run"
            self._status(f"{where} · {verb} · n/p next/previous step")

    def _status(self, text: str) -> None:
        self.query_one("#runbook-status", Static).update(Text(_s(text, 400)))

    def action_next_step(self) -> None:
        if self.steps:
            self.select(0 if self.selected is None else self.selected + 1)

    def action_previous_step(self) -> None:
        if self.steps:
            self.select(0 if self.selected is None else self.selected - 1)

    def action_back(self) -> None:
        self.app.pop_screen()

    def show_result(self, index: int, renderable: RenderableType) -> None:
        self.results[index] = renderable
        try:
            widget = self.query_one(f"#step-result-{index}", Static)
        except Exception:  # noqa: BLE001 - the screen went away
            return
        widget.update(renderable)
        widget.display = True

    def action_run_step(self) -> None:
        if self.selected is None or not self.steps:
            self.notify("no step selected", severity="warning", markup=False)
            return
        step = self.steps[self.selected]
        if step.index in self.running:
            self.notify(f"{step.label} is already running", severity="warning", markup=False)
            return
        reason = self.step_reason(step)
        if reason is not None:
            self.notify(_s(f"{step.label} cannot run: {reason}", 600), severity="warning", markup=False)
            return
        if step.is_query:
            self._start(step, self._run_query(step))
        else:
            self._confirm_shell(step)

    def _start(self, step: Step, job: Any) -> None:
        self.running.add(step.index)
        self._refresh_step(step.index)
        self.run_worker(job, group="runbook-steps", exit_on_error=False)

    def _done(self, step: Step) -> None:
        self.running.discard(step.index)
        self._refresh_step(step.index)

    async def _run_query(self, step: Step) -> None:
        incident = self.incident
        palette = self.palette()
        rb = self.runbook
        assert rb is not None
        try:
            query = prepare_query(
                step, self.labels, service=self.service, context=incident.context.name, patterns=incident.settings.runbooks.placeholders
            )
            now = incident.clock()
            start = min(self.drill_target.start, now - 60.0) if self.drill_target.start else now - 3600.0
            outcome = await run_query_step(
                step, query, prometheus=incident.session.prometheus, drill=incident.session.drill, start=start, end=now
            )
        except Exception as exc:  # noqa: BLE001 - shown under the step, never a crash
            message = str(exc) if isinstance(exc, ActionError) else safe_error(exc)
            self.show_result(step.index, Text(_s(f"{step.label} failed: {message}", 1000), style=palette.blocked))
            self._done(step)
            return
        self.show_result(step.index, render_query(outcome, palette))
        try:
            record_query(incident.timeline, outcome, origin=rb.origin, now=datetime.fromtimestamp(incident.clock(), UTC))
        except OSError as exc:
            notify_error(self.app, "could not write the timeline", exc)
        self._done(step)

    def _confirm_shell(self, step: Step) -> None:
        incident = self.incident
        rb = self.runbook
        assert rb is not None
        try:
            argv = plan_shell_step(
                step,
                self.labels,
                settings=incident.settings.runbooks,
                service=self.service,
                context=incident.context.name,
                runnable=rb.runnable,
            )
        except StepDisabled as exc:
            self.show_result(step.index, Text(_s(f"{step.label} disabled: {exc}", 1000), style=self.palette().blocked))
            self._status(f"{step.label} · disabled: {exc}")
            return
        runner = incident.runner
        preview = Preview.process(argv, summary=f"runbook {short_path(rb.origin)}: {step.label}" + (f" — {step.title}" if step.title else ""))

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._start(step, self._run_shell(step, argv))

        self.app.push_screen(
            ConfirmScreen(preview, typed_target=typed_target(runner, self.target_name), title="Run runbook step"),
            confirmed,
        )

    async def _run_shell(self, step: Step, argv: tuple[str, ...]) -> None:
        incident = self.incident
        rb = self.runbook
        assert rb is not None
        try:
            result = await run_shell_step(
                incident.runner,
                step,
                self.labels,
                incident.settings.runbooks,
                incident.state_path / "runbook-output",
                origin=rb.origin,
                service=self.service,
                target=self.target_name,
                runnable=rb.runnable,
                argv=argv,
            )
        except Exception as exc:  # noqa: BLE001 - shown, never a crash; the audit log has it
            notify_error(self.app, f"{step.label} failed", exc)
            message = str(exc) if isinstance(exc, ActionError) else safe_error(exc)
            self.show_result(step.index, Text(_s(f"{step.label} failed: {message}", 1000), style=self.palette().blocked))
            self._done(step)
            return
        self.show_result(step.index, render_output(result, self.palette()))
        self.app.notify(_s(f"{step.label}: {result.summary()}", 300), markup=False, severity="information" if result.ok else "warning")
        self._done(step)


def _spaced(parts: list[RenderableType]) -> list[RenderableType]:
    """Blank lines between blocks."""
    out: list[RenderableType] = []
    for i, part in enumerate(parts):
        if i:
            out.append(Text(""))
        out.append(part)
    return out


# ------------------------------------------------------------------------- open --
def _alert_for(target: DrillTarget, alerts: Sequence[TriageAlert], selected: TriageAlert | None) -> TriageAlert | None:
    """The alert ``target`` is about: the selected one when it matches, else the first whose
    labels the target carries."""
    if not target.alert:
        return None
    if selected is not None and selected.name == target.alert:
        return selected
    for alert in alerts:
        if alert.name == target.alert and all(target.labels.get(k) == v for k, v in alert.labels.items()):
            return alert
    return None


def open_runbook(
    app: App[Any],
    target: DrillTarget | None,
    *,
    alerts: Sequence[TriageAlert] = (),
    selected: TriageAlert | None = None,
    fetcher: RunbookFetcher | None = None,
) -> None:
    """Push the runbook screen for ``target`` (an alert, or a service's runbook file)."""
    if isinstance(app.screen, RunbookScreen):
        return
    if target is None or not (target.alert or target.service):
        app.notify("select an alert (or a service) first", severity="warning", markup=False)
        return
    app.push_screen(RunbookScreen(target, alert=_alert_for(target, alerts, selected), fetcher=fetcher))
