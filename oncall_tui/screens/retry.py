"""The list of failed writes kept for retry (``r`` on the timeline, ``:retry``); the flow that
retries or dismisses the one picked is :mod:`oncall_tui.flows.retry`.

A failed silence or Grafana annotation is kept in the audit log with its payload; here the
responder sees each (when, what, why it failed), retries it from the kept payload after the
usual confirmation, or dismisses it once handled. Processes (rollbacks, runbook steps) are
never re-run from here: their side effect may have half-happened, so the responder checks
and starts them again with ``R`` or from the runbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from oncall_tui.text.sanitize import sanitize_for_display

Record = Mapping[str, Any]


def describe(record: Record) -> Text:
    """One inert line: time, kind, target and the failure."""
    line = f"{str(record.get('ts', '?'))[:19]}  {record.get('kind', '?')}  {record.get('target', '')}"
    detail = str(record.get("detail") or record.get("error") or "")
    text = Text(sanitize_for_display(line, max_chars=200), no_wrap=True, overflow="ellipsis")
    if detail:
        text.append("  — " + sanitize_for_display(detail, max_chars=200), style="red")
    return text


class FailedWritesScreen(ModalScreen[tuple[str, Record] | None]):
    """Pick a failed write: ``enter`` retries it, ``d`` dismisses it, ``esc`` closes."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="retry-close"),
        Binding("d", "dismiss_record", "Dismiss", id="retry-dismiss"),
    ]
    DEFAULT_CSS = """
    FailedWritesScreen { align: center middle; }
    FailedWritesScreen > Vertical { width: 110; max-width: 100%; height: auto; max-height: 80%; background: $surface; border: round $warning; padding: 0 1; }
    FailedWritesScreen #retry-title { text-style: bold; color: $warning; }
    FailedWritesScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, records: list[Record]) -> None:
        super().__init__()
        self.records = records

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(f"{len(self.records)} failed write(s) kept for retry — enter retries · d dismisses · esc closes"),
                id="retry-title",
            )
            yield OptionList(*(Option(describe(r), id=str(i)) for i, r in enumerate(self.records)), id="retry-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def _selected(self) -> Record | None:
        index = self.query_one(OptionList).highlighted
        return self.records[index] if index is not None and 0 <= index < len(self.records) else None

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        record = self._selected()
        if record is not None:
            self.dismiss(("retry", record))

    def action_dismiss_record(self) -> None:
        record = self._selected()
        if record is not None:
            self.dismiss(("dismiss", record))

    def action_close(self) -> None:
        self.dismiss(None)
