"""``:handoff``: the paste-ready handoff for the next responder, read-only; ``w`` saves it."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from oncall_tui.incident.handoff import save_handoff
from oncall_tui.screens.actions import notify_error
from oncall_tui.screens.shell import ShellAccess
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.widgets.footer import KeyHints


class HandoffScreen(ShellAccess, ModalScreen[None]):
    """The handoff's Markdown (already inert: no control character, no markup) in a read-only
    text area, so it can be selected and copied; ``w`` writes it to the state directory."""

    BINDINGS = [  # noqa: RUF012 - Textual's class-level declaration
        Binding("w", "write", "Write .md", id="handoff-write"),
        Binding("escape", "close", "Close", id="handoff-close"),
        Binding("q", "close", "Close", show=False, id="handoff-close-q"),
    ]
    DEFAULT_CSS = """
    HandoffScreen { align: center middle; }
    HandoffScreen > Vertical { width: 100%; height: 100%; background: $surface; }
    HandoffScreen #handoff-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    HandoffScreen TextArea { height: 1fr; border: none; }
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.saved_to: str | None = None

    def compose(self) -> ComposeResult:
        name = sanitize_for_display(self.incident.context.name, max_chars=64)
        with Vertical():
            yield Static(f"HANDOFF of {name} · w writes it to a file · esc closes", id="handoff-title", markup=False)
            yield TextArea(self.text, read_only=True, soft_wrap=False, show_line_numbers=False, id="handoff-text")
            yield KeyHints()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_write(self) -> None:
        incident = self.incident
        now = datetime.fromtimestamp(incident.clock(), UTC)
        try:
            path = save_handoff(incident.state_path, incident.context.name, self.text, now)
        except OSError as exc:
            notify_error(self.app, "writing the handoff failed", exc)
            return
        self.saved_to = str(path)
        self.app.notify(sanitize_for_display(f"handoff written to {path}"), markup=False, timeout=10)

    def action_close(self) -> None:
        self.dismiss(None)
