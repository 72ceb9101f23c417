"""The key line at the bottom of every screen: the shown bindings of the focused chain.

Textual's ``Footer`` mounts one widget per key and recomposes them all whenever the bindings
change (every focus move); on the triage screen that alone delayed the first frame with data
by ~150 ms (``benchmarks/cold_start.py``). This is one widget that paints one line of text
and repaints only when the line changes. It looks like the Footer (same theme variables),
honours remapped keys (``App.get_key_display``), dims disabled bindings, keeps the command
palette key at the right, and a click on a key presses it, as the Footer does.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


Hint = tuple[str, str, str, bool]  # key, key display, description, enabled


class KeyHints(Widget, can_focus=False):
    """One line of ``key description`` hints for the screen's active bindings."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {  # noqa: RUF012 - Textual's class-level declaration
        "key-hints--key",
        "key-hints--description",
    }
    DEFAULT_CSS = """
    KeyHints {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        .key-hints--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-hints--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        #: (the shown bindings, the command palette's) as (key, display, description, enabled)
        self._hints: tuple[list[Hint], Hint | None] = ([], None)
        self._spans: list[tuple[int, int, str, bool]] = []  # start, end, key, enabled

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._hints = self._collect()

    def _bindings_changed(self, screen: Screen) -> None:  # type: ignore[type-arg]
        if screen is not self.screen:
            return
        hints = self._collect()
        if hints != self._hints:
            self._hints = hints
            self.refresh()

    def _collect(self) -> tuple[list[Hint], Hint | None]:
        """The shown bindings, one per action (first key wins), and the command palette's."""
        app = self.app
        seen: set[str] = set()
        hints = []
        palette = None
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = (binding.key, app.get_key_display(binding), binding.description, enabled)
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            hints.append((binding.key, app.get_key_display(binding), binding.description, enabled))
        return hints, palette

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-hints--key")
        description_style = self.get_component_rich_style("key-hints--description")
        left, palette = self._hints
        line = Text(no_wrap=True, overflow="ellipsis")
        spans = []

        def add(key: str, display: str, description: str, enabled: bool) -> None:
            start = line.cell_len
            line.append(f" {display} ", key_style)
            if description:
                line.append(f"{description} ", description_style)
            if not enabled:
                line.stylize("dim", start)
            spans.append((start, line.cell_len, key, enabled))

        for hint in left:
            add(*hint)
        if palette is not None:
            key, display, description, enabled = palette
            tail = len(display) + len(description) + 4  # " k " + "description " + right margin
            gap = self.size.width - line.cell_len - tail
            if gap > 0:
                line.append(" " * gap)
                add(key, display, description, enabled)
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, key, enabled in self._spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
