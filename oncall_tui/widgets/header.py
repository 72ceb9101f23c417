"""The status line: context (in its colour), READ-ONLY, time range, refresh, PAUSED, backends."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Static

from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.widgets.display import display


def update_if_changed(widget: Static, text: str) -> None:
    """Show ``text`` (as :class:`DisplayText`: sanitised, line breaks kept) only when it changed:
    an update costs a layout and a repaint. Every header field and badge goes through here."""
    if getattr(widget, "_shown", None) != text:
        widget._shown = text  # type: ignore[attr-defined]
        widget.update(display(text, multiline=True, limit=None))


@dataclass(frozen=True)
class SourceBadge:
    name: str
    status: str  # loading | fresh | slow | retrying | stale | down | auth
    age: str
    reason: str = ""
    #: The whole badge after the name, when the state computed it (SourceState.badge).
    label: str = ""

    def text(self) -> str:
        if self.label:
            return f"{self.name} {self.label}"
        label = {"fresh": "ok", "stale": "STALE", "down": "DOWN", "auth": "AUTH-FAILED", "loading": "…"}
        age = f" {self.age}" if self.status in ("fresh", "stale") else ""
        return f"{self.name} {label.get(self.status, self.status)}{age}"


@dataclass(frozen=True)
class HeaderState:
    context: str
    color: str
    read_only: bool
    range_label: str
    refresh_seconds: float
    paused: bool
    sources: list[SourceBadge] = field(default_factory=list)


class StatusHeader(Horizontal):
    """One line at the top. Colours come from theme variables through CSS classes."""

    DEFAULT_CSS = """
    StatusHeader { height: 1; dock: top; background: $panel; }
    StatusHeader Label { padding: 0 1 0 0; }
    StatusHeader #ctx { text-style: bold; padding: 0 1; }
    StatusHeader #readonly { background: $readonly-badge; color: $background; text-style: bold; padding: 0 1; margin-right: 1; }
    StatusHeader #paused { background: $paused-banner; color: $background; text-style: bold; padding: 0 1; margin-right: 1; }
    StatusHeader #range { color: $foreground; }
    StatusHeader #refresh { color: $foreground-muted; }
    StatusHeader .source { padding: 0 1 0 0; }
    StatusHeader .-fresh { color: $source-fresh; }
    StatusHeader .-loading { color: $foreground-muted; }
    StatusHeader .-stale { color: $source-stale; text-style: dim italic; }
    StatusHeader .-down, StatusHeader .-auth { color: $source-down; text-style: bold; }
    StatusHeader .-retrying, StatusHeader .-slow { color: $source-stale; text-style: bold; }
    StatusHeader .hidden { display: none; }
    """

    def compose(self) -> ComposeResult:
        yield Label("", id="ctx", markup=False)
        yield Label("READ-ONLY", id="readonly", classes="hidden", markup=False)
        yield Label("PAUSED", id="paused", classes="hidden", markup=False)
        yield Label("", id="range", markup=False)
        yield Label("", id="refresh", markup=False)
        yield Horizontal(id="sources")

    def show(self, state: HeaderState) -> None:
        ctx = self.query_one("#ctx", Label)
        update_if_changed(ctx, sanitize_for_display(state.context, max_chars=40))
        ctx.styles.color = state.color  # the user's own config value, e.g. "red"
        self.query_one("#readonly").set_class(not state.read_only, "hidden")
        self.query_one("#paused").set_class(not state.paused, "hidden")
        update_if_changed(self.query_one("#range", Label), state.range_label)
        update_if_changed(self.query_one("#refresh", Label), f"every {state.refresh_seconds:g}s")
        box = self.query_one("#sources", Horizontal)
        labels = list(box.query(Label))
        if len(labels) != len(state.sources):
            box.remove_children()
            labels = [Label("", classes="source", markup=False) for _ in state.sources]
            box.mount_all(labels)
        for label, badge in zip(labels, state.sources, strict=True):
            update_if_changed(label, badge.text())
            for status in ("fresh", "stale", "down", "auth", "loading", "retrying", "slow"):
                label.set_class(badge.status == status, f"-{status}")
