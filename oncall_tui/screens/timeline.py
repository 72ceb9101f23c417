"""Screen ``6`` / ``:timeline``: the incident timeline; ``N`` adds a note, ``e`` exports Markdown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from oncall_tui.actions.timeline import TimelineEvent, export_markdown
from oncall_tui.core.sanitize import sanitize_for_display
from oncall_tui.screens.actions import notify_error

if TYPE_CHECKING:
    from oncall_tui.app import OncallApp

KIND_STYLE = {"alert": "bold red", "action": "bold yellow", "result": "green", "note": "cyan", "runbook": "magenta"}


class TimelineScreen(Screen):
    """Every event of this context's timeline (UTC), oldest first."""

    BINDINGS = [
        Binding("N", "note", "Note", id="timeline-note"),
        Binding("e", "export", "Export .md", id="timeline-export"),
        Binding("ctrl+r", "reload", "Reload", id="timeline-reload"),
        Binding("j", "cursor_down", "Down", show=False, id="timeline-down"),
        Binding("k", "cursor_up", "Up", show=False, id="timeline-up"),
        Binding("G", "cursor_bottom", "Latest", show=False, id="timeline-bottom"),
        Binding("escape", "app.switch_mode('triage')", "Triage", id="timeline-back"),
    ]
    DEFAULT_CSS = """
    TimelineScreen #timeline-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    TimelineScreen DataTable { height: 1fr; }
    """

    @property
    def oncall(self) -> OncallApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("", id="timeline-title", markup=False)
        yield DataTable(id="timeline", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("time (UTC)", "kind", "event")
        self.query_one(DataTable).focus()
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def events(self) -> list[TimelineEvent]:
        try:
            return self.oncall.timeline().events()
        except OSError as exc:
            notify_error(self.oncall, "cannot read the timeline", exc)
            return []

    def reload(self) -> None:
        if not self.is_mounted:
            return
        events = self.events()
        table = self.query_one(DataTable)
        table.clear()
        for i, e in enumerate(events):
            table.add_row(
                Text(e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")),
                Text(e.kind, style=KIND_STYLE.get(e.kind, "")),
                Text(sanitize_for_display(e.text, max_chars=500), no_wrap=True, overflow="ellipsis"),
                key=str(i),
            )
        if events:
            table.move_cursor(row=len(events) - 1)
        ro = "  READ-ONLY" if self.oncall.read_only else ""
        self.query_one("#timeline-title", Static).update(
            sanitize_for_display(f"TIMELINE of {self.oncall.context.name}{ro}: {len(events)} events · N note · e export")
        )

    def action_reload(self) -> None:
        self.reload()

    def action_cursor_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()

    def action_cursor_bottom(self) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(table.row_count - 1, 0))

    def action_note(self) -> None:
        self.oncall.action_annotate()

    def action_export(self) -> None:
        app = self.oncall
        now = datetime.fromtimestamp(app.clock(), UTC)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in app.context.name)[:64]
        path = Path.cwd() / f"postmortem-{name}-{now:%Y%m%d-%H%M%S}.md"
        try:
            text = export_markdown(self.events(), context=app.context.name, title=f"incident in {app.context.name}", now=now)
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            notify_error(app, "export failed", exc)
            return
        app.notify(sanitize_for_display(f"postmortem draft written to {path}"), markup=False, timeout=10)
