"""ctrl+p: jump to a service or alert, switch context, switch theme."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from oncall_tui.text.sanitize import sanitize_for_display


class OncallCommands(Provider):
    """Services, alerts, contexts and themes; titles are untrusted and go in as Text/Content only."""

    def _choices(self) -> list[tuple[str, Callable[[], object], str]]:
        app: Any = self.app  # the OncallApp (not imported: it imports this module)
        out: list[tuple[str, Callable[[], object], str]] = []
        data = app.incident.last_data
        if data is not None:
            for row in data.rows:
                out.append((f"service {row.service}", partial(app.open_service, row.service), "open its detail"))
            for alert in data.alerts:
                where = alert.service or "-"
                out.append(
                    (f"alert {alert.name} ({where}, {alert.state})", partial(app.focus_alert_service, alert.service), "show the alerts of its service")
                )
        out.append(("handoff for the next responder", partial(app.run_command, ":handoff"), "firing, silences, actions, open writes, deep links"))
        for name in app.settings.contexts:
            out.append((f"context {name}", partial(app.run_command, f":ctx {name}"), "switch every panel to it"))
        for name in sorted(app.available_themes):
            out.append((f"theme {name}", partial(app.run_command, f":theme {name}"), ""))
        # Textual parses a hit's help as markup: help texts are fixed strings, never backend data.
        return [(sanitize_for_display(t, max_chars=120), cb, h) for t, cb, h in out]

    async def discover(self) -> Hits:
        for text, callback, help_text in self._choices():
            yield DiscoveryHit(Text(text), callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, callback, help_text in self._choices():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, _highlight(matcher, text), callback, help=help_text)


def _highlight(matcher: Matcher, text: str) -> Content:
    """Like ``Matcher.highlight`` but without parsing ``text`` as markup (it is backend data)."""
    content = Content(text)
    _, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize("bold underline", offset, offset + 1)
    return content
