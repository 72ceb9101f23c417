"""``:silences`` — active and pending silences; ``X`` expires, ``E`` extends by 1h (confirmed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from oncall_tui.actions.core import Preview
from oncall_tui.actions.silences import (
    ensure_server_clock,
    expire,
    expiring_soon,
    extend,
    extended_spec,
    format_matchers,
    silence_preview,
    silence_target,
)
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.models.alertmanager import Silence
from oncall_tui.screens.actions import (
    ConfirmScreen,
    fmt_left,
    notify_error,
    refuse_if_read_only,
    typed_target,
)
from oncall_tui.screens.shell import RefreshNow, ShellAccess
from oncall_tui.widgets.display import DisplayText, SafeTable, clipped, display
from oncall_tui.widgets.footer import KeyHints
from oncall_tui.widgets.keys import CURSOR_BINDINGS, CursorKeys

EXTEND_BY = timedelta(hours=1)


def _cell(value: str, max_chars: int = 200) -> DisplayText:
    return clipped(value, limit=max_chars)


class SilencesScreen(CursorKeys, ShellAccess, Screen):
    """The context's active and pending silences, soonest end first."""

    BINDINGS = [
        Binding("X", "expire", "Expire", id="silence-expire"),
        Binding("E", "extend", "Extend 1h", id="silence-extend"),
        Binding("ctrl+r", "reload", "Refresh", id="silences-refresh"),
        *CURSOR_BINDINGS,
        Binding("escape", "back", "Back", id="silences-back"),
        Binding("q", "back", "Back", show=False, id="silences-back-q"),  # q is "back" everywhere but triage
    ]
    DEFAULT_CSS = """
    SilencesScreen #silences-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    SilencesScreen #silences-warning { height: auto; color: $warning; padding: 0 1; }
    SilencesScreen #silences-warning.hidden { display: none; }
    SilencesScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.silences: list[Silence] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="silences-title", markup=False)
        yield Static("", id="silences-warning", classes="hidden", markup=False)
        yield SafeTable(id="silences", cursor_type="row")
        yield KeyHints()

    def cursor_table(self) -> DataTable:
        return self.query_one(DataTable)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._columns(table)
        ro = "  READ-ONLY" if self.incident.read_only else ""
        self.query_one("#silences-title", Static).update(
            sanitize_for_display(f"SILENCES in {self.incident.context.name}{ro} (loading…)")
        )
        table.focus()
        self.load()

    @work(exclusive=True, group="silences-load", exit_on_error=False)
    async def load(self) -> None:
        session = self.incident.session
        if not session.alertmanagers:
            self.query_one("#silences-title", Static).update("SILENCES: no Alertmanager configured in this context")
            return
        found: dict[str, Silence] = {}
        now = None
        failures = []
        for name, am in session.alertmanagers.items():  # every member: a per-region silence lives on one
            try:
                for silence in await am.silences():
                    found.setdefault(silence.id, silence)
                    session.silence_origins.setdefault(silence.id, name)
                now = now or await ensure_server_clock(am)
            except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
                failures.append((name, exc))
        if failures and (now is None or len(session.alertmanagers) > 1):
            name, exc = failures[0]
            notify_error(self.app, "could not list silences" + (f" of {name}" if len(session.alertmanagers) > 1 else ""), exc)
        if now is not None:
            self.show(list(found.values()), now)

    def show(self, found: list[Silence], now) -> None:  # type: ignore[no-untyped-def]
        live = [s for s in found if s.status.state in ("active", "pending")]
        live.sort(key=lambda s: (s.status.state != "active", s.ends_at))
        self.silences = live
        self._shown = (found, now)
        table = self.query_one(DataTable)
        selected = self.selected()
        table.clear(columns=True)
        widths = self._columns(table)
        for s in live:
            cells = [
                _cell(s.status.state),
                _cell(fmt_left(s.ends_at - now)),
                _cell(format_matchers(s.matchers), 300),
                _cell(s.created_by, 64),
                _cell(s.comment, 300),
                _cell(s.id, 64),
            ]
            table.add_row(*cells[: len(widths)], key=s.id)
        if selected is not None and any(s.id == selected.id for s in live):
            table.move_cursor(row=[s.id for s in live].index(selected.id))
        ro = "  READ-ONLY" if self.incident.read_only else ""
        self.query_one("#silences-title", Static).update(
            sanitize_for_display(f"SILENCES in {self.incident.context.name}{ro}: {len(live)} active/pending")
        )
        mine = expiring_soon(live, created_by=self.incident.settings.effective_identity, within=self.incident.silence_warning_window(), now=now)
        box = self.query_one("#silences-warning", Static)
        if mine:
            lines = [
                f"⚠ your silence {format_matchers(s.matchers)} expires in {fmt_left(left)} (E extends by 1h)"
                for s, left in mine
            ]
            box.update(sanitize_for_display("\n".join(lines), multiline=True, max_chars=2000))
            self.app.notify(sanitize_for_display(lines[0], max_chars=300), severity="warning", markup=False)
        box.set_class(not mine, "hidden")

    def _columns(self, table: DataTable) -> list[int]:
        """Columns sized to the terminal: who and why always show; matchers take the rest
        (cut with …, in full on the confirmation); the id only when there is room."""
        width = self.size.width or self.app.size.width
        who, why = (24, 40) if width >= 140 else (16, 24) if width >= 100 else (12, 16)
        fixed = [("state", 7), ("ends in", 8)]
        tail = [("created by", who), ("comment", why)] + ([("id", 36)] if width >= 180 else [])
        used = sum(w for _, w in fixed + tail) + 2 * (len(fixed) + len(tail) + 1) + 2
        columns = [*fixed, ("matchers", max(width - used, 16)), *tail]
        for label, w in columns:
            table.add_column(display(label), width=w)
        return [w for _, w in columns]

    def on_resize(self) -> None:
        shown = getattr(self, "_shown", None)
        if shown is not None:
            self.show(*shown)

    def selected(self) -> Silence | None:
        table = self.query_one(DataTable)
        if not self.silences or not table.row_count or not 0 <= table.cursor_row < min(len(self.silences), table.row_count):
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return next((s for s in self.silences if s.id == key), None)

    # ---------------------------------------------------------------- actions --
    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_expire(self) -> None:
        incident = self.incident
        if refuse_if_read_only(self.app, incident.read_only):
            return
        chosen = self.selected()
        found = incident.session.alertmanager_for(silence_id=chosen.id) if chosen is not None else None
        if chosen is None or found is None:
            self.app.notify("no silence selected", severity="warning", markup=False)
            return
        am = found[1]
        preview = Preview.http(
            "DELETE",
            am.base_url.rstrip("/") + f"/api/v2/silence/{chosen.id}",
            summary=f"expire silence {chosen.id} ({format_matchers(chosen.matchers)})",
        )

        async def job() -> str:
            await expire(incident.runner, am, chosen.id)
            return f"silence {chosen.id} expired"

        self._confirm_then_run(chosen, preview, "Expire silence", "expire failed", job)

    def _confirm_then_run(
        self, chosen: Silence, preview: Preview, title: str, failure: str, job: Callable[[], Awaitable[str]]
    ) -> None:
        """Confirm ``preview`` (typed target in protected contexts), then run ``job`` in a worker:
        its message or the error is shown, and the triage, timeline and this list reload."""
        incident = self.incident

        async def run() -> None:
            try:
                message = await job()
            except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
                notify_error(self.app, failure, exc)
            else:
                self.app.notify(sanitize_for_display(message), markup=False)
            self.post_message(RefreshNow())
            self.load()

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.run_worker(run(), group="actions", exit_on_error=False)

        target = typed_target(incident.runner, silence_target(chosen.matchers))
        self.app.push_screen(ConfirmScreen(preview, typed_target=target, title=title), confirmed)

    def action_extend(self) -> None:
        incident = self.incident
        if refuse_if_read_only(self.app, incident.read_only):
            return
        chosen = self.selected()
        found = incident.session.alertmanager_for(silence_id=chosen.id) if chosen is not None else None
        if chosen is None or found is None:
            self.app.notify("no silence selected", severity="warning", markup=False)
            return
        am = found[1]
        try:
            spec = extended_spec(chosen, EXTEND_BY, now_server=am.server_now())
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            notify_error(self.app, "cannot extend", exc)
            return
        preview = silence_preview(am, spec, update_of=chosen.id)

        async def job() -> str:
            new = await extend(incident.runner, am, chosen, EXTEND_BY)
            return f"silence extended until {new.ends_at:%H:%M} UTC ({new.id})"

        self._confirm_then_run(chosen, preview, "Extend silence by 1h", "extend failed", job)
