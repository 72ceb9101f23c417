"""Screen ``6`` / ``:timeline``: the incident timeline; ``N`` adds a note, ``e`` exports Markdown."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from oncall_tui.actions.timeline import TimelineEvent, export_markdown
from oncall_tui.text.sanitize import (
    MAX_LABEL_VALUE,
    MAX_LOG_LINE,
    cap_leaves,
    sanitize_for_display,
)
from oncall_tui.screens.actions import notify_error
from oncall_tui.screens.shell import AddNote, ShellAccess
from oncall_tui.widgets.display import SafeTable, clipped, display
from oncall_tui.widgets.footer import KeyHints
from oncall_tui.widgets.keys import CURSOR_BINDINGS, CursorKeys

#: Event kind -> theme variable of its colour (no colour literals outside themes/).
KIND_COLOR = {"alert": "error", "action": "warning", "result": "success", "note": "accent", "runbook": "secondary", "backend": "warning"}


class TimelineScreen(CursorKeys, ShellAccess, Screen):
    """Every event of this context's timeline (UTC), oldest first."""

    BINDINGS = [
        Binding("N", "note", "Note", id="timeline-note"),
        Binding("e", "export", "Export .md", id="timeline-export"),
        Binding("r", "app.retry", "Retry failed", id="timeline-retry"),
        Binding("enter", "show_event", "Details", id="timeline-details"),
        Binding("ctrl+r", "reload", "Reload", id="timeline-reload"),
        *CURSOR_BINDINGS,
        Binding("escape", "app.switch_mode('triage')", "Triage", id="timeline-back"),
        Binding("q", "app.switch_mode('triage')", "Triage", show=False, id="timeline-back-q"),
    ]
    DEFAULT_CSS = """
    TimelineScreen #timeline-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    TimelineScreen DataTable { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="timeline-title", markup=False)
        yield SafeTable(id="timeline", cursor_type="row")
        yield KeyHints()

    def cursor_table(self) -> DataTable:
        return self.query_one(DataTable)

    def on_mount(self) -> None:
        self._unwatch: Callable[[], None] | None = None
        self.query_one(DataTable).add_columns(display("time (UTC)"), display("kind"), display("by"), display("event"))
        self.query_one(DataTable).focus()
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def on_unmount(self) -> None:
        if self._unwatch is not None:
            self._unwatch()

    def _watch(self) -> None:
        """Redraw whenever the current context's timeline is written (a write, an alert change)."""
        timeline = self.incident.timeline
        if getattr(self, "_watched", None) is not timeline:
            if self._unwatch is not None:
                self._unwatch()
            self._watched = timeline
            self._unwatch = timeline.watch(self._written)

    def _written(self) -> None:
        if self.is_mounted and self.is_current:
            self.call_later(self.reload)

    def events(self) -> list[TimelineEvent]:
        try:
            return self.incident.timeline_events()
        except OSError as exc:
            notify_error(self.app, "cannot read the timeline", exc)
            return []

    def reload(self) -> None:
        if not self.is_mounted:
            return
        self._watch()
        events = self.events()
        table = self.query_one(DataTable)
        table.clear()
        for i, e in enumerate(events):
            table.add_row(
                display(e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")),
                display(e.kind, limit=32, style=self._kind_style(e)),
                display(e.who, limit=24),
                clipped(e.text, limit=500),
                key=str(i),
            )
        if events:
            table.move_cursor(row=len(events) - 1)
        ro = "  READ-ONLY" if self.incident.read_only else ""
        self.query_one("#timeline-title", Static).update(
            sanitize_for_display(f"TIMELINE of {self.incident.context.name}{ro}: {len(events)} events · N note · e export")
        )

    def _kind_style(self, event: TimelineEvent) -> str:
        name = KIND_COLOR.get(event.kind, "foreground")
        if event.kind == "result" and event.detail.get("ok") is False:
            name = "error"
        color = self.shell.theme_color(name)
        return f"bold {color}" if color else "bold"

    def action_show_event(self) -> None:
        """``enter``: the whole event (text and details: output of a step, versions...)."""
        table = self.query_one(DataTable)
        events = self.events()
        if not events or not 0 <= table.cursor_row < len(events):
            return
        self.app.push_screen(EventDetailScreen(events[table.cursor_row]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show_event()

    def action_reload(self) -> None:
        self.reload()

    def action_note(self) -> None:
        self.post_message(AddNote())

    def action_export(self) -> None:
        incident = self.incident
        now = datetime.fromtimestamp(incident.clock(), UTC)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in incident.context.name)[:64]
        path = Path.cwd() / f"postmortem-{name}-{now:%Y%m%d-%H%M%S}.md"
        try:
            text = export_markdown(self.events(), context=incident.context.name, title=f"incident in {incident.context.name}", now=now)
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            notify_error(self.app, "export failed", exc)
            return
        self.app.notify(sanitize_for_display(f"postmortem draft written to {path}"), markup=False, timeout=10)


#: Detail fields that hold a process's output, shown up to a log line's cap (16 KiB).
LONG_DETAIL_KEYS = frozenset({"output", "stdout", "stderr", "body", "response"})


class EventDetailScreen(ModalScreen[None]):
    """One timeline event in full: its text and every detail field (inert, scrollable)."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="event-close"),
        Binding("q", "close", "Close", show=False, id="event-close-q"),
    ]
    DEFAULT_CSS = """
    EventDetailScreen { align: center middle; }
    EventDetailScreen > VerticalScroll { width: 110; max-width: 100%; height: auto; max-height: 85%; background: $surface; border: round $accent; padding: 0 1; }
    """

    def __init__(self, event: TimelineEvent) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        e = self.event
        text = Text()
        text.append(f"{e.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC  {e.kind}", style="bold")
        if e.who or e.origin:
            text.append(sanitize_for_display(f"  by {e.who or '?'}" + (f" ({e.origin})" if e.origin else ""), max_chars=200))
        text.append("\n")
        text.append(sanitize_for_display(e.text, multiline=True, max_chars=4000) + "\n")
        for key, value in e.detail.items():
            # A step's output may be long (a log line's cap); every other value is a label's.
            limit = MAX_LOG_LINE if key in LONG_DETAIL_KEYS else MAX_LABEL_VALUE
            value = cap_leaves(value, limit)
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str, indent=1)
            text.append(f"\n{sanitize_for_display(str(key), max_chars=80)}: ", style="bold")
            text.append(sanitize_for_display(shown, multiline=True))
        with VerticalScroll():
            yield Static(text, id="event-detail")

    def action_close(self) -> None:
        self.dismiss(None)
