"""Failed writes kept for retry (``r`` on the timeline, ``:retry``): retry one, or dismiss it.

A failed silence or Grafana annotation is kept in the audit log with its payload; here the
responder sees each (when, what, why it failed), retries it from the kept payload after the
usual confirmation, or dismisses it once handled. Processes (rollbacks, runbook steps) are
never re-run from here: their side effect may have half-happened, so the responder checks
and starts them again with ``R`` or from the runbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from oncall_tui.actions.core import Preview
from oncall_tui.core.sanitize import sanitize_for_display
from oncall_tui.screens.actions import ConfirmScreen, notify_error, refuse_if_read_only, typed_target

if TYPE_CHECKING:
    from oncall_tui.app import OncallApp

Record = Mapping[str, Any]
#: Kinds whose side effect is a process: shown, never re-run from the kept payload.
PROCESS_KINDS = ("rollback", "rollback-dry-run", "runbook-step")


def failed_writes(app: OncallApp) -> list[Record]:
    """Failed writes of the current context kept for retry, newest first."""
    try:
        records = app.audit.failed()
    except OSError as exc:
        notify_error(app, "cannot read the audit log", exc)
        return []
    mine = [r for r in records if r.get("context") in (None, app.context.name)]
    return list(reversed(mine))


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


def open_failed_writes(app: OncallApp) -> None:
    """List the failed writes; retry or dismiss the one picked."""
    records = failed_writes(app)
    if not records:
        app.notify("no failed writes are waiting for a retry", markup=False)
        return

    def picked(choice: tuple[str, Record] | None) -> None:
        if choice is None:
            return
        what, record = choice
        if what == "dismiss":
            try:
                app.audit.dismiss(str(record.get("id")), note=f"dismissed by {app.settings.effective_identity}")
            except OSError as exc:
                notify_error(app, "cannot write the audit log", exc)
                return
            app.notify("dismissed: it is no longer listed for retry", markup=False)
            return
        start_retry(app, record)

    app.push_screen(FailedWritesScreen(records), picked)


def start_retry(app: OncallApp, record: Record) -> None:
    """Confirm, then retry one failed write from its kept payload (refused when read-only)."""
    kind = str(record.get("kind") or "")
    if kind in PROCESS_KINDS:
        app.notify(
            f"a {kind} is never re-run automatically: check the service's state, then start it again "
            "(R, or from the runbook); d dismisses it here",
            severity="warning",
            markup=False,
            timeout=10,
        )
        return
    if not (kind.startswith("silence.") or kind.startswith("annotate")):
        app.notify(sanitize_for_display(f"cannot retry a {kind} action here"), severity="error", markup=False)
        return
    if refuse_if_read_only(app):
        return
    runner = app.action_runner()

    def confirmed(ok: bool | None) -> None:
        if ok:
            app.run_worker(_retry(app, record), group="actions", exit_on_error=False)

    app.push_screen(
        ConfirmScreen(
            Preview.retry_of(record), typed_target=typed_target(runner, str(record.get("target") or "")), title="Retry failed write"
        ),
        confirmed,
    )


async def _retry(app: OncallApp, record: Record) -> None:
    kind = str(record.get("kind") or "")
    runner = app.action_runner()
    try:
        if kind.startswith("silence."):
            from oncall_tui.actions.silences import retry_failed

            am = app.session.alertmanager
            if am is None:
                raise RuntimeError("no Alertmanager configured in this context")
            await retry_failed(runner, am, record)
        else:
            from oncall_tui.actions.annotations import retry_annotation

            grafana = app.session.grafana
            if grafana is None:
                raise RuntimeError("no Grafana endpoint configured in this context")
            outcome = await retry_annotation(runner, grafana, record)
            if outcome.error:
                raise RuntimeError(outcome.error)
    except Exception as exc:  # noqa: BLE001 - shown to the user; the failure stays kept
        notify_error(app, "retry failed (still kept for retry)", exc)
        app.timeline_changed()
        return
    app.notify(sanitize_for_display(f"retried: {kind} {record.get('target', '')}", max_chars=300), markup=False)
    app.refresh_triage()
    app.timeline_changed()
