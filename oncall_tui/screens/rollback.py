"""The rollback confirmation: the exact argv one element per line or the request, version now →
version after, the service's error rate and p99, Cancel focused, a Dry run button when
configured, the target typed in protected contexts. The flow is :mod:`oncall_tui.flows.rollback`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.screens.actions import SMALL_HEIGHT, ConfirmScreen

if TYPE_CHECKING:
    from oncall_tui.actions.core import Preview
    from oncall_tui.actions.rollback import Versions

DRY_RUN = "dry-run"


def _text(value: str, max_chars: int = 500) -> Text:
    return Text(sanitize_for_display(value, max_chars=max_chars))


class RollbackConfirmScreen(ConfirmScreen):
    """:class:`ConfirmScreen` plus the versions/signals block and an optional Dry run button.

    Dismisses with True (roll back), ``"dry-run"`` or False (cancelled).
    """

    DEFAULT_CSS = """
    RollbackConfirmScreen #rollback-facts { margin: 1 0 0 0; }
    """

    def __init__(
        self,
        preview: Preview,
        *,
        facts: Text,
        dry_run: bool = False,
        typed_target: str | None = None,
        title: str = "Roll back",
    ) -> None:
        super().__init__(preview, typed_target=typed_target, title=title)
        self.facts = facts
        self.offer_dry_run = dry_run

    def compose_details(self) -> ComposeResult:
        yield Static(self.facts, id="rollback-facts")

    def compose_extra_buttons(self) -> ComposeResult:
        if self.offer_dry_run:
            yield Button("Dry run", id="dry-run", variant="primary", compact=self.app.size.height < SMALL_HEIGHT)

    @on(Button.Pressed, "#dry-run")
    def _dry_run(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(DRY_RUN)  # type: ignore[arg-type]


def facts_text(versions: Versions, errors: str, p99: str) -> Text:
    """The confirmation's facts: version now → after (and where it came from), error rate, p99."""
    text = Text()
    text.append("version: ", style="bold")
    text.append(versions.describe())
    if versions.source:
        text.append(f"  (from {versions.source})", style="dim")
    if versions.error:
        text.append("\n")
        text.append(sanitize_for_display(f"version lookup: {versions.error}", max_chars=300), style="dim")
    text.append("\nnow: ", style="bold")
    text.append(sanitize_for_display(f"error rate {errors} · p99 {p99}"))
    return text
