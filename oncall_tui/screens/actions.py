"""The UI of write actions: confirmation, the silence form, a note prompt, and the flows.

Every write goes through :class:`~oncall_tui.actions.core.ActionRunner` (read-only guard,
audit, timeline). Screens here only collect input and show previews as inert ``Text``; the
flows in :mod:`oncall_tui.flows` run the writes in workers and report errors as notifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
)

from oncall_tui.actions.core import ActionError, ActionRunner, Preview, safe_error
from oncall_tui.actions.silences import (
    DURATION_PRESETS,
    affected,
    build_silence,
    format_matchers,
    matchers_from_labels,
    parse_duration,
    parse_matchers,
)
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.models.alertmanager import InvalidSilence, SilenceSpec

if TYPE_CHECKING:
    from textual.app import App

    from oncall_tui.core.triage import TriageAlert

READ_ONLY_MESSAGE = "read-only context: not allowed (nothing was sent)"


def _text(value: str, max_chars: int = 2000) -> Text:
    """Untrusted text as an inert Text (never markup)."""
    return Text(sanitize_for_display(value, max_chars=max_chars))


# -------------------------------------------------------------------- confirm --
#: Below this many rows dialogs use one-row buttons and inputs.
SMALL_HEIGHT = 32


class ConfirmScreen(ModalScreen[bool]):
    """The exact request, Cancel focused; ``esc`` cancels. Protected contexts: type the target."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm-cancel")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 90; max-width: 100%; height: auto; max-height: 90%; background: $surface; border: round $warning; padding: 0 1; }
    ConfirmScreen #confirm-title { text-style: bold; color: $warning; }
    ConfirmScreen VerticalScroll { height: auto; max-height: 20; }
    ConfirmScreen #confirm-buttons { height: auto; align-horizontal: right; dock: bottom; }
    ConfirmScreen Button { margin: 0 1; }
    """

    def __init__(self, preview: Preview, *, typed_target: str | None = None, title: str = "Confirm write") -> None:
        super().__init__()
        self.preview = preview
        self.typed_target = typed_target or None
        self.confirm_title = title

    def compose(self) -> ComposeResult:
        with Vertical():
            kind = "command will run" if self.preview.argv is not None else "request will be sent"
            yield Static(Text(f"{self.confirm_title} — this {kind}:"), id="confirm-title")
            with VerticalScroll():
                yield Static(Text(self.preview.text()), id="confirm-preview")
                yield from self.compose_details()
            if self.typed_target:
                yield Static(
                    Text("Protected context: type ") + _text(self.typed_target, 200) + Text(" to enable Confirm"),
                    id="confirm-typed-hint",
                )
                yield Input(placeholder="type the target's name", id="confirm-typed")
            with Horizontal(id="confirm-buttons"):
                # One-row buttons in a short terminal, so the preview keeps room (80x24).
                small = self.app.size.height < SMALL_HEIGHT
                yield Button("Cancel", id="cancel", variant="default", compact=small)
                yield Button("Confirm", id="confirm", variant="warning", disabled=bool(self.typed_target), compact=small)
                yield from self.compose_extra_buttons()

    def compose_details(self) -> ComposeResult:
        """More to read below the preview (a subclass adds versions, signals...)."""
        return iter(())

    def compose_extra_buttons(self) -> ComposeResult:
        """Buttons after Confirm (a subclass adds "Dry run")."""
        return iter(())

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The preview scrolls; the title, typed-target prompt and buttons always show."""
        rows = int(self.app.size.height * 0.9) - 2  # the dialog's border
        fixed = 1 + (4 if self.typed_target else 0) + (1 if self.app.size.height < SMALL_HEIGHT else 3)
        self.query_one(VerticalScroll).styles.max_height = max(rows - fixed, 3)

    @on(Input.Changed, "#confirm-typed")
    def _typed(self, event: Input.Changed) -> None:
        ok = self.typed_target is not None and ActionRunner.confirmation_matches(self.typed_target, event.value)
        self.query_one("#confirm", Button).disabled = not ok

    @on(Input.Submitted, "#confirm-typed")
    def _typed_submit(self) -> None:
        if not self.query_one("#confirm", Button).disabled:
            self.dismiss(True)

    @on(Button.Pressed, "#confirm")
    def _confirm(self, event: Button.Pressed) -> None:
        event.stop()
        if not self.query_one("#confirm", Button).disabled:
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)


# ---------------------------------------------------------------- silence form --
@dataclass
class SilenceRequest:
    """What the silence form produced."""

    spec: SilenceSpec
    until_resolved: bool = False
    fingerprints: list[str] = field(default_factory=list)
    #: The Alertmanager it goes to (None: the only one, or the first healthy).
    target: str | None = None


class SilenceForm(ModalScreen[SilenceRequest | None]):
    """Matchers (editable, prefilled from the alert), duration, createdBy, comment, live impact."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="silence-cancel"),
        Binding("ctrl+o", "submit", "Preview & confirm", id="silence-submit"),
    ]
    DEFAULT_CSS = """
    SilenceForm { align: center middle; }
    SilenceForm > VerticalScroll { width: 96; max-width: 100%; height: auto; max-height: 95%; background: $surface; border: round $primary; padding: 0 1; }
    SilenceForm Label { margin-top: 1; text-style: bold; }
    SilenceForm Input { height: 3; }
    SilenceForm.-small Input { height: 1; }
    SilenceForm RadioSet { layout: horizontal; height: auto; width: auto; }
    SilenceForm #silence-affects { color: $warning; }
    SilenceForm #silence-markers { color: $error; }
    SilenceForm .hidden { display: none; }
    SilenceForm #silence-error { color: $error; }
    SilenceForm #silence-buttons { height: auto; align-horizontal: right; }
    SilenceForm.-small Label { margin-top: 0; }
    SilenceForm.-small #silence-until-note { display: none; }
    SilenceForm Button { margin: 0 1; }
    """

    def __init__(
        self,
        alert: TriageAlert,
        *,
        alerts: Sequence[Any],
        created_by: str,
        now_server: Any,
        ticket_pattern: str | None = None,
        targets: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.targets = list(targets)  # several Alertmanagers: where it goes (the default first)
        self.alert = alert
        self.alerts = list(alerts)
        self.created_by = created_by
        self.now_server = now_server  # a callable returning the Alertmanager's "now"
        self.ticket_pattern = ticket_pattern

    def compose(self) -> ComposeResult:
        # In a short terminal (80x24) one-row inputs keep the matchers, "affects N" and the
        # buttons on screen together with the comment the cursor starts in.
        small = self.app.size.height < SMALL_HEIGHT
        self.set_class(small, "-small")
        with VerticalScroll():
            yield Static(Text("Silence ") + _text(self.alert.name, 200), id="silence-title")
            yield Label("Matchers (name=\"value\", =~ for regex)")
            yield Input(format_matchers(matchers_from_labels(self.alert.labels)), id="silence-matchers", compact=small)
            yield Static("", id="silence-markers", classes="hidden")
            yield Static("", id="silence-affects")
            yield Label("Duration")
            with RadioSet(id="silence-presets", compact=small):
                yield RadioButton("15m", id="preset-15m")
                yield RadioButton("1h", value=True, id="preset-1h")
                yield RadioButton("4h", id="preset-4h")
                yield RadioButton("custom", id="preset-custom")
            yield Input("1h", placeholder="e.g. 90m, 2h30m, 1d", id="silence-duration", compact=small)
            if len(self.targets) > 1:
                yield Label("Send to (Alertmanager)")
                with RadioSet(id="silence-target", compact=small):
                    for i, name in enumerate(self.targets):
                        yield RadioButton(_text(name, 60), value=i == 0)
            yield Label("Created by")
            yield Input(self.created_by, id="silence-created-by", compact=small)
            yield Label("Comment (required: why?)")
            yield Input(placeholder="e.g. INC-123 rolling back llm-server", id="silence-comment", compact=small)
            yield Checkbox("until resolved (expire it once its alerts stop firing, while this app runs)" if small else "until resolved", id="silence-until-resolved", compact=small)
            yield Static(
                Text(
                    "until resolved: the silence is expired once its alerts stop firing — "
                    "only while this app runs; otherwise it ends at its end time."
                ),
                id="silence-until-note",
            )
            yield Static("", id="silence-error")
            with Horizontal(id="silence-buttons"):
                yield Button("Cancel", id="silence-cancel", compact=small)
                yield Button("Preview & confirm", id="silence-submit", variant="primary", compact=small)

    def on_mount(self) -> None:
        self._update_affects()
        self.query_one("#silence-comment", Input).focus()

    # ----------------------------------------------------------------- live --
    def _update_affects(self) -> None:
        box = self.query_one("#silence-affects", Static)
        try:
            matchers = parse_matchers(self.query_one("#silence-matchers", Input).value)
        except (InvalidSilence, ValueError) as exc:
            box.update(_text(f"matchers: {exc}", 300))
            return
        self._show_markers(matchers)
        now = self.now_server()
        probe = SilenceSpec.model_construct(matchers=matchers, starts_at=now, ends_at=now + timedelta(hours=1))
        matched = affected(probe, self.alerts)
        # Only alerts that notify now count: silenced or inhibited ones are already quiet.
        hits = [a for a in matched if getattr(a, "state", "firing") == "firing"]
        quiet = len(matched) - len(hits)
        names = sorted({getattr(a, "name", "?") for a in hits})
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        also = f" (+{quiet} already silenced or inhibited)" if quiet else ""
        box.update(_text(f"affects {len(hits)} firing alert{'s' if len(hits) != 1 else ''}{also}" + (f": {shown}" if shown else ""), 400))

    def _show_markers(self, matchers: Sequence[Any]) -> None:
        """R1.3: a value with invisible or control characters (typed as ``\\u200b`` in the
        editable line) is spelled out with ``<U+200B>`` markers, so two look-alike values
        cannot be confused."""
        odd = [m for m in matchers if sanitize_for_display(m.value) != m.value]
        box = self.query_one("#silence-markers", Static)
        box.set_class(not odd, "hidden")
        if odd:
            shown = ", ".join(f'{m.name}{m.operator}"{sanitize_for_display(m.value, max_chars=200)}"' for m in odd)
            box.update(_text(f"⚠ invisible or control characters in: {shown}", 600))

    @on(Input.Changed, "#silence-matchers")
    def _matchers_changed(self) -> None:
        self._update_affects()

    @on(RadioSet.Changed, "#silence-presets")
    def _preset(self, event: RadioSet.Changed) -> None:
        label = str(event.pressed.label)
        if label in DURATION_PRESETS:
            self.query_one("#silence-duration", Input).value = label
        else:
            self.query_one("#silence-duration", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#silence-submit")
    def _submit_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#silence-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def build(self) -> SilenceRequest:
        """The validated request; raises InvalidSilence/ValueError naming the field."""
        matchers = parse_matchers(self.query_one("#silence-matchers", Input).value)
        duration = parse_duration(self.query_one("#silence-duration", Input).value)
        spec = build_silence(
            matchers,
            duration,
            self.query_one("#silence-created-by", Input).value,
            self.query_one("#silence-comment", Input).value,
            now_server=self.now_server(),
            ticket_pattern=self.ticket_pattern,
        )
        fps = [a.fingerprint for a in affected(spec, self.alerts) if getattr(a, "fingerprint", None)]
        target = None
        if len(self.targets) > 1:
            index = self.query_one("#silence-target", RadioSet).pressed_index
            target = self.targets[index if 0 <= index < len(self.targets) else 0]
        return SilenceRequest(spec, self.query_one("#silence-until-resolved", Checkbox).value, fps, target)

    def action_submit(self) -> None:
        try:
            request = self.build()
        except (InvalidSilence, ValueError) as exc:
            self.query_one("#silence-error", Static).update(_text(str(exc), 500))
            return
        self.dismiss(request)


# ----------------------------------------------------------------------- note --
class NoteScreen(ModalScreen[str | None]):
    """One line of text for the timeline; enter adds, esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="note-cancel")]
    DEFAULT_CSS = """
    NoteScreen { align: center bottom; }
    NoteScreen > Vertical { width: 100%; height: auto; background: $surface; border: round $primary; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Add a note to the incident timeline (enter adds, esc cancels)"))
            yield Input(placeholder="e.g. rolled back llm-server to v2.3", id="note")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


# -------------------------------------------------------------------- helpers --
def refuse_if_read_only(app: App[Any], read_only: bool) -> bool:
    """Notify and return True in a read-only context (nothing is sent)."""
    if read_only:
        app.notify(READ_ONLY_MESSAGE, severity="warning", markup=False)
    return read_only


def typed_target(runner: ActionRunner, target: str) -> str | None:
    """``target`` when the runner's context needs it typed before confirming (protected)."""
    return target if runner.needs_typed_confirmation(target) else None


def notify_error(app: App[Any], what: str, exc: BaseException) -> None:
    """``what: why`` as an error notification (our errors say why; others are made safe)."""
    message = str(exc) if isinstance(exc, ActionError) else safe_error(exc)
    app.notify(sanitize_for_display(f"{what}: {message}", max_chars=600), severity="error", markup=False, timeout=15)


def fmt_left(left: timedelta) -> str:
    secs = int(left.total_seconds())
    if secs <= 0:
        return "ended"
    h, rem = divmod(secs, 3600)
    return f"{h}h{rem // 60:02d}m" if h else f"{rem // 60}m{rem % 60:02d}s"


def utc(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")
