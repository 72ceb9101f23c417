"""Overlays: ``?`` help for the current screen, ``:`` command line, and placeholder areas."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from oncall_tui.core.commands import VERBS
from oncall_tui.widgets.footer import KeyHints


class HelpScreen(ModalScreen[None]):
    """The keys of the screen underneath, with their ids (for ``keymap:`` in the config)."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help-close"),
        Binding("question_mark", "dismiss", "Close", show=False, id="help-close-q"),
        Binding("q", "dismiss", "Close", show=False, id="help-close-quit"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 76; max-width: 100%; height: auto; max-height: 90%; background: $surface; border: round $primary; padding: 0 1; }
    HelpScreen #help-title { text-style: bold; }
    HelpScreen VerticalScroll { height: auto; max-height: 100%; }
    """

    def __init__(self, title: str, rows: list[tuple[str, str, str]], *, notes: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.help_title = title
        self.rows = rows
        #: What the screen's columns mean (the screen's ``HELP_NOTES``).
        self.notes = notes

    def compose(self) -> ComposeResult:
        lines = Text()
        for key, description, binding_id in self.rows:
            lines.append(f"{key:>10}  ", style="bold")
            lines.append(f"{description:<28}")
            lines.append(f" {binding_id}\n", style="dim")
        if self.notes:
            lines.append("\nColumns\n", style="bold")
            for note in self.notes:
                lines.append(f"  {note}\n")
        lines.append("\nCommands (:)\n", style="bold")
        for verb, (_, _, usage) in VERBS.items():
            lines.append(f"{':' + verb:>10}  {usage}\n")
        lines.append("\nRemap any key in the config: keymap: {binding-id: \"key\"}", style="dim")
        with Vertical():
            yield Static(Text(f"Keys — {self.help_title}  (esc closes, arrows scroll)"), id="help-title")
            with VerticalScroll():
                yield Static(lines)


class CommandLine(ModalScreen[str | None]):
    """A ``:`` prompt at the bottom; returns the text, or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="command-cancel")]
    DEFAULT_CSS = """
    CommandLine { align: left bottom; background: transparent; }
    CommandLine Input { dock: bottom; width: 100%; height: 1; padding: 0 1; background: $panel; }
    /* Input's own ":focus" rule draws a tall border, which in one row leaves no room for text. */
    CommandLine Input, CommandLine Input:focus { border: none; }
    """

    def compose(self) -> ComposeResult:
        yield Input(placeholder=":ctx NAME · :svc NAME · :theme NAME · :q", id="command")

    def on_mount(self) -> None:
        self.query_one(Input).value = ":"
        self.query_one(Input).cursor_position = 1

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PlaceholderScreen(Screen):
    """An area another part of the product brings; says which, instead of pretending."""

    BINDINGS = [Binding("escape", "app.switch_mode('triage')", "Triage", id="placeholder-back")]
    DEFAULT_CSS = """
    PlaceholderScreen Static { padding: 1 2; }
    """

    def __init__(self, area: str, brings: str) -> None:
        super().__init__()
        self.area = area
        self.brings = brings

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.area}\n\n{self.brings}\n\nPress 1 or esc for the triage screen."))
        yield KeyHints()
