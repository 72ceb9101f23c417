"""One alert in full: what ``enter`` on the alerts table opens.

Everything a responder pastes into the incident channel or needs before acting: the name,
severity and state (who silenced it, until when; what inhibits it), the absolute start time
from the server with its age, every label and annotation (description, ``runbook_url``), and
the generator link. All of it is untrusted and shown as inert text with R1.3 markers.

The alert stays selected on the triage screen underneath, so the keys that act on it here
(``S A l x u b``) close this view and do exactly what they do on the alerts table.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from oncall_tui.text.sanitize import MAX_LABEL_VALUE, sanitize_for_display
from oncall_tui.core.triage import TriageAlert, format_age
from oncall_tui.widgets.footer import KeyHints
from oncall_tui.widgets.keys import ALERT_ACTIONS, action_bindings


def alert_detail_text(alert: TriageAlert, now: datetime) -> Text:
    """The detail view's text (pure: unit-tested without a screen)."""

    def s(value: object, limit: int = MAX_LABEL_VALUE) -> str:
        return sanitize_for_display(str(value), max_chars=limit)

    text = Text()
    text.append(s(alert.name, 200), style="bold")
    text.append(f"  {s(alert.severity, 20).upper()}  {s(alert.state_detail, 300)}\n")
    if alert.starts_at is not None and alert.starts_at.year > 1:
        text.append("started   ", style="bold")
        text.append(f"{alert.starts_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({format_age(alert.age(now))} ago)\n")
    if alert.service:
        text.append("service   ", style="bold")
        text.append(s(alert.service, 200) + "\n")
    if alert.fingerprint:
        text.append("fingerprint ", style="bold")
        text.append(s(alert.fingerprint, 64) + "\n")
    if alert.origins:
        text.append("held by   ", style="bold")
        text.append(s(", ".join(alert.origins), 300) + "\n")
    if alert.generator_url:
        text.append("source    ", style="bold")
        text.append(s(alert.generator_url, 2000) + "\n")
    text.append("\nLabels\n", style="bold underline")
    width = max((len(k) for k in alert.labels), default=0)
    for key in sorted(alert.labels, key=lambda k: (k != "alertname", k)):
        text.append(f"  {s(key, 64):<{min(width, 24)}}  ", style="bold")
        text.append(s(alert.labels[key]) + "\n")
    if alert.annotations:
        text.append("\nAnnotations\n", style="bold underline")
        for key in sorted(alert.annotations, key=lambda k: (k not in ("summary", "description"), k)):
            text.append(f"  {s(key, 64)}\n", style="bold")
            value = sanitize_for_display(alert.annotations[key], multiline=True, max_chars=4 * MAX_LABEL_VALUE)
            text.append("    " + value.replace("\n", "\n    ") + "\n")
    return text


class AlertDetailScreen(ModalScreen[None]):
    """The selected alert in full; its action keys act on it."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="alert-close"),
        Binding("q", "close", "Back", show=False, id="alert-close-q"),
        *action_bindings(ALERT_ACTIONS, "act('{}')"),
        Binding("d", "service", "Service detail", id="alert-service"),
    ]
    DEFAULT_CSS = """
    AlertDetailScreen { align: center middle; }
    AlertDetailScreen > VerticalScroll { width: 110; max-width: 100%; height: auto; max-height: 90%; background: $surface; border: round $accent; padding: 0 1; }
    AlertDetailScreen KeyHints { dock: bottom; }
    """

    def __init__(self, alert: TriageAlert, now: datetime) -> None:
        super().__init__()
        self.alert = alert
        self.now = now

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(alert_detail_text(self.alert, self.now), id="alert-detail")
        yield KeyHints()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_service(self) -> None:
        """``d``: the charts of the alert's service."""
        self.dismiss(None)
        if self.alert.service:
            self.app.call_later(self.app.open_service, self.alert.service)  # type: ignore[attr-defined]

    def action_act(self, action: str) -> None:
        """Close, then run the app's action on the alert still selected underneath."""
        self.dismiss(None)
        self.app.call_later(self.app.run_action, action)
