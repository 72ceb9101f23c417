"""Binding blocks more than one screen shares (one definition, one set of ids to remap)."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable

#: Time range: pan earlier/later, zoom in/out, back to live (the app's actions).
TIME_RANGE_BINDINGS = [
    Binding("[", "app.pan(-1)", "Earlier", show=False, id="pan-back"),
    Binding("]", "app.pan(1)", "Later", show=False, id="pan-forward"),
    Binding("+", "app.zoom(1)", "Zoom in", show=False, id="zoom-in"),
    Binding("-", "app.zoom(-1)", "Zoom out", show=False, id="zoom-out"),
    Binding("0", "app.live", "Live", show=False, id="live"),
]

#: (key, app action, description, binding id) of the keys that act on one alert. The ids are the
#: app's, so one keymap entry remaps a key on the alerts table and on the alert's detail alike.
ALERT_ACTIONS: list[tuple[str, str, str, str]] = [
    ("S", "silence_alert", "Silence", "silence"),
    ("A", "ack_alert", "Ack", "ack"),
    ("l", "logs", "Logs", "logs"),
    ("x", "traces", "Traces", "traces"),
    ("u", "gpu", "GPUs", "gpu"),
    ("b", "runbook", "Runbook", "runbook"),
]


def action_bindings(actions: list[tuple[str, str, str, str]], template: str = "app.{}") -> list[Binding]:
    """Bindings for ``actions``; ``template`` turns an app action into the binding's action."""
    return [Binding(key, template.format(action), description, id=binding_id) for key, action, description, binding_id in actions]


#: vi-style movement in the list a screen is about: j/k down/up, g/G first/last row. The same
#: ids on every screen, so one keymap entry (``down: n``) remaps them all.
CURSOR_BINDINGS = [
    Binding("j", "cursor_down", "Down", show=False, id="down"),
    Binding("k", "cursor_up", "Up", show=False, id="up"),
    Binding("g", "cursor_top", "Top", show=False, id="top"),
    Binding("G", "cursor_bottom", "Bottom", show=False, id="bottom"),
]


class CursorKeys:
    """The actions of :data:`CURSOR_BINDINGS` on the table :meth:`cursor_table` names."""

    def cursor_table(self) -> DataTable | None:
        raise NotImplementedError

    def action_cursor_down(self) -> None:
        if (table := self.cursor_table()) is not None:
            table.action_cursor_down()

    def action_cursor_up(self) -> None:
        if (table := self.cursor_table()) is not None:
            table.action_cursor_up()

    def action_cursor_top(self) -> None:
        if (table := self.cursor_table()) is not None:
            table.move_cursor(row=0)

    def action_cursor_bottom(self) -> None:
        if (table := self.cursor_table()) is not None:
            table.move_cursor(row=max(table.row_count - 1, 0))
