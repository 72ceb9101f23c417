"""The logs drill-down (Loki): the lines of an alert's or a service's window, or of any LogQL.

Layout, top to bottom: a title line (context, what is shown, the window), a status line (Loki
badge, line counts, follow state, dropped lines), an error line when Loki refused or failed,
the LogQL being shown (``e`` edits it, ``enter`` re-runs), the log view (a line-API widget:
only visible rows are painted), a detail pane for the selected line (``enter``), and the
``/`` filter box.

All I/O happens in workers through ``app.session.drill``: the first page of lines
(``direction=backward``), older pages when scrolling past the top (``o``), follow mode
(``f``: a :class:`~oncall_tui.clients.loki.LogFollower` from the newest loaded line). Lines live
in a bounded :class:`~oncall_tui.core.logs.LogBuffer`; a failure keeps them on screen, marked
stale, with the backend's (sanitised) reason. A rejected query (400) shows what to change
instead of being retried.
"""

from __future__ import annotations

import asyncio
import re
import time
from bisect import bisect_left
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Label, Static
from textual.worker import Worker

from oncall_tui.clients.errors import AuthFailed, BackendError, QueryRejected
from oncall_tui.core.logs.buffer import LogBuffer
from oncall_tui.core.logs.guidance import guidance_for
from oncall_tui.core.logs.logql import add_line_filter, build_logql
from oncall_tui.core.logs.patterns import PatternGroup, group_patterns
from oncall_tui.core.logs.traceids import normalize_trace_id
from oncall_tui.core.logs.traceids import entry_trace_id as _entry_trace_id
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.core.target import DrillTarget
from oncall_tui.core.triage import format_age
from oncall_tui.models.loki import LogEntry, to_ns
from oncall_tui.screens.shell import OpenTrace, ShellAccess
from oncall_tui.widgets.footer import KeyHints
from oncall_tui.widgets.header import update_if_changed
from oncall_tui.widgets.logview import LogView, entry_detail

if TYPE_CHECKING:
    from oncall_tui.clients.drill import DrillDown
    from oncall_tui.clients.loki import LogFollower

#: Lines kept in memory (older ones are dropped, and the header says how many).
MAX_ENTRIES = 10_000
#: A ``service="x"`` (or ``service_name``) equality matcher in a LogQL selector.
_SERVICE_MATCHER = re.compile(r'[{,]\s*(?:service|service_name)\s*=\s*"((?:[^"\\]|\\.)*)"')


#: Characters a terminal would act on or that hide/reorder text (SECURITY.md R1.1, R1.3).
_UNSAFE_IN_QUERY = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\u2028\u2029\ufeff]")


def inert_logql(query: str) -> str:
    """``query`` with control, bidi and invisible characters as ``\\uXXXX`` escapes.

    The LogQL box is an editable ``Input``: it shows its value as is, so the value itself must
    be safe to show. Such characters only make sense inside LogQL string literals, where Loki
    reads ``\\uXXXX`` as the same character: the query still means the same.
    """
    return _UNSAFE_IN_QUERY.sub(lambda m: f"\\u{ord(m.group()):04x}", query)


def _hms(seconds: float) -> str:
    t = time.gmtime(seconds)
    return f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def _window_label(start: float, end: float) -> str:
    def hm(s: float) -> str:
        t = time.gmtime(s)
        return f"{t.tm_hour:02d}:{t.tm_min:02d}"

    return f"{hm(start)}–{hm(end)} UTC ({format_age(max(end - start, 0.0))})"


def _service_of(logql: str) -> str | None:
    match = _SERVICE_MATCHER.search(logql)
    return match.group(1).replace('\\"', '"').replace("\\\\", "\\") if match else None


class LogsScreen(ShellAccess, Screen):
    """Pushed by ``l`` / ``2`` / ``:logs``; ``esc`` goes back."""

    COMPONENT_CLASSES = {
        "logs--fresh",
        "logs--loading",
        "logs--stale",
        "logs--down",
        "logs--auth",
        "logs--rejected",
        "logs--following",
        "logs--reconnecting",
        "logs--dropped",
        "logs--note",
    }

    BINDINGS = [
        Binding("escape", "back", "Back", id="logs-back"),
        Binding("q", "back", "Back", show=False, id="logs-back-q"),
        Binding("e", "edit_query", "LogQL", id="logs-edit"),
        Binding("slash", "filter", "Filter", id="logs-filter"),
        Binding("t", "open_trace", "Trace", id="logs-trace"),
        Binding("p", "toggle_patterns", "Patterns", id="logs-patterns"),
        Binding("f", "toggle_follow", "Follow", id="logs-follow"),
        Binding("o", "load_older", "Older", id="logs-older"),
        Binding("r", "toggle_raw", "Raw", show=False, id="logs-raw"),
        Binding("ctrl+r", "rerun", "Re-run", show=False, id="logs-rerun"),
    ]

    DEFAULT_CSS = """
    LogsScreen { layout: vertical; }
    LogsScreen #logs-title { height: 1; background: $panel; }
    LogsScreen #logs-title Label { padding: 0 1 0 0; }
    LogsScreen #logs-ctx { text-style: bold; padding: 0 1; }
    LogsScreen #logs-what { color: $foreground; text-style: bold; }
    LogsScreen #logs-window { color: $foreground-muted; }
    LogsScreen #logs-status { height: 1; width: 1fr; background: $panel; color: $foreground; }
    LogsScreen > .logs--fresh { color: $source-fresh; }
    LogsScreen > .logs--loading { color: $foreground-muted; }
    LogsScreen > .logs--stale { color: $source-stale; text-style: italic; }
    LogsScreen > .logs--down { color: $source-down; text-style: bold; }
    LogsScreen > .logs--auth { color: $source-down; text-style: bold; }
    LogsScreen > .logs--rejected { color: $severity-warning; text-style: bold; }
    LogsScreen > .logs--following { color: $source-fresh; text-style: bold; }
    LogsScreen > .logs--reconnecting { color: $source-stale; text-style: bold; }
    LogsScreen > .logs--dropped { color: $severity-warning; }
    LogsScreen > .logs--note { color: $foreground-muted; }
    LogsScreen #logs-error { height: auto; max-height: 4; padding: 0 1; color: $source-down; background: $surface; }
    LogsScreen #logs-error.-rejected { color: $severity-warning; }
    LogsScreen #logs-query { height: 1; background: $surface; }
    LogsScreen #logs-query-label { width: auto; padding: 0 1; color: $foreground-muted; text-style: bold; }
    LogsScreen #logql { height: 1; border: none; padding: 0; width: 1fr; background: $surface; }
    LogsScreen #logql:focus { background: $boost; }
    LogsScreen LogView { height: 1fr; }
    LogsScreen #logs-detail { height: 45%; border-top: solid $primary; background: $surface; padding: 0 1; }
    LogsScreen #filter { dock: bottom; height: 1; border: none; padding: 0 1; background: $panel; }
    LogsScreen .hidden { display: none; }
    """

    #: Lines per Loki request.
    page_size = 1000
    #: Seconds between follow polls.
    poll_interval = 2.0

    def __init__(self, target: DrillTarget, *, logql: str | None = None, max_entries: int = MAX_ENTRIES) -> None:
        super().__init__()
        self.target = target
        self.build_error: str | None = None
        #: The LogQL was built from the target's labels: the first query maps them to this
        #: Loki's label names first (``service_name`` on OTLP-written streams).
        self._from_labels = logql is None
        if logql is None:
            try:
                logql = build_logql(target.labels)
            except ValueError as exc:
                self.build_error = str(exc)
                logql = ""
        self.logql = inert_logql(logql.strip())
        self.buffer = LogBuffer(max_entries=max_entries)
        self.rows: list[int] | None = None
        self.filter_text = ""
        self.groups: list[PatternGroup] | None = None
        self.pattern_mode = False
        self.following = False
        self.error: BackendError | None = None
        self.error_kind: str | None = None  # "rejected" | "down"
        self.note = ""
        self.loaded_at: float | None = None
        self.querying = False
        self._follower: LogFollower | None = None
        self._follow_worker: Worker[None] | None = None
        self._follow_polls = 0
        self._older_end_ns: int | None = None
        self._loading_older = False
        self._suspended = False
        self._timer: Timer | None = None
        #: The status line's parts (badge, counts, mode, dropped, note) and the badge's state.
        self.status_parts: dict[str, str] = {}
        self.badge_status = "loading"
        self._status_key: tuple[Any, ...] | None = None
        self._reason = ""
        #: What the detail pane shows (rich renderables), for tests and copying.
        self.detail: Group | None = None

    # --------------------------------------------------------------- helpers --

    @property
    def drill(self) -> DrillDown:
        return self.incident.session.drill

    @property
    def drill_target(self) -> DrillTarget:
        """What is shown, for ``x`` (traces), ``u`` (GPUs) from here: the service and window."""
        target = self.target
        service = target.service or _service_of(self.logql)
        if service == target.service:
            return target
        return DrillTarget(target.start, target.end, service, {**target.labels, "service": service or ""}, target.alert)

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def compose(self) -> ComposeResult:
        with Horizontal(id="logs-title"):
            yield Label("", id="logs-ctx", markup=False)
            yield Label("", id="logs-what", markup=False)
            yield Label("", id="logs-window", markup=False)
        yield Static("", id="logs-status", markup=False)
        yield Static("", id="logs-error", classes="hidden", markup=False)
        with Horizontal(id="logs-query"):
            yield Label("LogQL", id="logs-query-label", markup=False)
            yield Input(self.logql, placeholder='{service="name"} |= "text"   (e: edit, enter: run)', id="logql")
        yield LogView(id="logview")
        with VerticalScroll(id="logs-detail", classes="hidden"):
            yield Static("", id="logs-detail-body", markup=False)
        yield Input(placeholder='filter loaded lines: text, !text (inverse) — enter: add to the LogQL, esc: clear', id="filter", classes="hidden")
        yield KeyHints()

    def on_mount(self) -> None:
        self._timer = self.set_interval(1.0, self._tick, pause=True)
        self.render_title()
        self.render_status()
        if self.logql:
            self.view.focus()
            self.run_query()
        else:
            self.view.empty_text = sanitize_for_display(
                f"no log query: {self.build_error or 'nothing selected'}. Press e and type a LogQL selector."
            )
            self.view.refresh()
            self.query_one("#logql", Input).focus()

    def on_unmount(self) -> None:
        self._cancel_follow_worker()
        self.following = False

    def on_screen_suspend(self) -> None:
        # Hidden under another screen (a trace waterfall): stop polling until we are back.
        self._suspended = True
        if self._follow_worker is not None:
            self._cancel_follow_worker()

    def on_screen_resume(self) -> None:
        if self._suspended:
            self._suspended = False
            if self.following and self._follow_worker is None:
                self.start_follow()

    # ------------------------------------------------------------------ header --
    def render_title(self) -> None:
        incident = self.incident
        ctx = self.query_one("#logs-ctx", Label)
        update_if_changed(ctx, sanitize_for_display(incident.context.name, max_chars=40))
        ctx.styles.color = incident.context.color  # the user's own config value, as in the triage header
        update_if_changed(self.query_one("#logs-what", Label), sanitize_for_display(self.target.describe(), max_chars=120))
        update_if_changed(self.query_one("#logs-window", Label), _window_label(self.target.start, self.target.end))

    def _badge(self, now: float) -> tuple[str, str, str]:
        """(status class, badge text, reason) for Loki; the reason goes on the error line."""
        follower = self._follower
        state = self.drill.sources.get("loki")
        if follower is not None and follower.disconnected_since is not None:
            reason = sanitize_for_display(str(follower.last_error or "no answer"), max_chars=300)
            return "down", f"loki DOWN since {_hms(follower.disconnected_since)}", reason
        if self.error_kind == "rejected":
            return "rejected", "loki: query rejected", ""
        if state is None:
            return "down", "loki: no endpoint", f"no loki endpoint in context {self.incident.context.name!r}"
        status = state.status(now)
        if state.error is not None:
            auth = state.error_badge == "AUTH-FAILED"
            since = f" since {_hms(state.failing_since)}" if state.failing_since else ""
            label = "AUTH-FAILED" if auth else "DOWN"
            return ("auth" if auth else "down"), f"loki {label}{since}", sanitize_for_display(state.error, max_chars=300)
        if status == "loading" or self.querying and self.loaded_at is None:
            return "loading", "loki …", ""
        if self.following and follower is not None:
            return "fresh", "loki ok · live", ""
        age = format_age(state.age(now))
        return status, f"loki {'ok' if status == 'fresh' else 'STALE'} {age}", ""

    def render_status(self) -> None:
        """The status line: one fixed-size widget, so an update repaints one row (no layout)."""
        now = self.incident.clock()
        status, badge, self._reason = self._badge(now)
        total = len(self.buffer)
        if self.pattern_mode and self.groups is not None:
            shown = len(self.rows) if self.rows is not None else total
            counts = f"{len(self.groups):,} patterns in {shown:,} lines"
        elif self.rows is not None:
            counts = f"{len(self.rows):,} of {total:,} match {sanitize_for_display(self.filter_text, max_chars=40)!r}"
        else:
            counts = f"{total:,} lines"
        if total and self.error_kind == "down" and self.loaded_at is not None:
            counts += f" (STALE: loaded {_hms(self.loaded_at)})"
        follower = self._follower
        reconnecting = follower is not None and follower.disconnected_since is not None
        if self.following and reconnecting:
            assert follower is not None and follower.disconnected_since is not None
            mode, mode_style = f"reconnecting since {_hms(follower.disconnected_since)}", "reconnecting"
        elif self.following:
            mode, mode_style = ("following" if not self._suspended else "following (paused while hidden)"), "following"
        elif self.querying:
            mode, mode_style = "loading…", "note"
        else:
            mode, mode_style = "", "note"
        dropped = []
        if self.buffer.dropped_oldest:
            dropped.append(f"dropped {self.buffer.dropped_oldest:,} older lines")
        if self.buffer.dropped_newest:
            dropped.append(f"dropped {self.buffer.dropped_newest:,} newer lines")
        self.badge_status = status
        self.status_parts = {"badge": badge, "counts": counts, "mode": mode, "dropped": ", ".join(dropped), "note": self.note}
        styles = {"badge": status, "counts": None, "mode": mode_style, "dropped": "dropped", "note": "note"}
        key = (status, mode_style, tuple(self.status_parts.values()))
        if key != self._status_key:
            self._status_key = key
            line = Text(" ", no_wrap=True, overflow="ellipsis", end="")
            for name, part in self.status_parts.items():
                if part:
                    style = styles[name]
                    line.append(part + "  ", style=self.get_component_rich_style(f"logs--{style}", partial=True) if style else "")
            self.query_one("#logs-status", Static).update(line, layout=False)
        self.view.set_class(self.error_kind == "down" and total > 0, "-stale")
        self.render_error()

    def render_error(self) -> None:
        """The error line: what Loki said, and what to do or what is still shown."""
        box = self.query_one("#logs-error", Static)
        err = self.error
        kept = (
            f" — showing the {len(self.buffer):,} lines loaded at {_hms(self.loaded_at)}"
            if self.loaded_at is not None and len(self.buffer)
            else ""
        )
        if err is not None and self.error_kind == "rejected":
            advice = getattr(err, "guidance", None) or guidance_for(err)
            text = f"Loki rejected the query: {sanitize_for_display(str(err), max_chars=300)}"
            if advice:
                text += f"\n→ {sanitize_for_display(advice, max_chars=300)}"
            text += "\n(not retried: change the LogQL with e, then enter)"
        elif err is not None:
            text = f"{sanitize_for_display(str(err), max_chars=300)}{kept}"
        elif self.following and self._reason:
            text = f"reconnecting: {self._reason}{kept}; new lines follow on without a gap once Loki answers"
        elif self._reason:
            text = self._reason
        else:
            text = ""
        update_if_changed(box, text)
        box.set_class(self.error_kind == "rejected", "-rejected")
        box.set_class(not text, "hidden")

    def _tick(self) -> None:
        """While following: mark Loki fresh when polls succeed, show reconnects."""
        follower = self._follower
        if follower is not None:
            state = self.drill.sources.get("loki")
            if follower.disconnected_since is None and follower.polls != self._follow_polls and state is not None:
                self._follow_polls = follower.polls
                state.ok(self.incident.clock())
            elif follower.disconnected_since is not None and follower.last_error is not None and state is not None:
                state.failed(self.incident.clock(), follower.last_error.badge, str(follower.last_error))
        self.render_status()

    # -------------------------------------------------------------------- data --
    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, BackendError):
            self.error = exc
        else:  # a bug or a value the client refused: say what, never a traceback
            self.error = BackendError(f"logs query failed: {type(exc).__name__}: {exc}", source="loki")
        self.error_kind = "rejected" if isinstance(exc, QueryRejected) else "down"
        self.render_status()  # and the error line

    def _ok(self) -> None:
        self.error = None
        self.error_kind = None
        self.render_status()

    @work(exclusive=True, group="logs-query", exit_on_error=False, description="logs query")
    async def run_query(self) -> None:
        """The newest ``page_size`` lines of the window (Loki ``direction=backward``)."""
        was_following = self.following
        self._cancel_follow_worker()
        self.workers.cancel_group(self, "logs-older")  # a page of the previous query must not land here
        self._loading_older = False
        self.querying = True
        self.note = ""
        self.render_status()
        if self._from_labels:
            self._from_labels = False
            await self._relabel()
        logql = self.logql
        try:
            entries = await self.drill.logs(
                logql, start=self.target.start, end=self.target.end, limit=self.page_size, direction="backward"
            )
        except (BackendError, ValueError) as exc:
            self.querying = False
            self._failed(exc)
            if was_following and not isinstance(exc, QueryRejected | AuthFailed):
                self.start_follow()  # it reconnects on its own and fills the gap
            else:
                self.following = False
            return
        self.querying = False
        self.buffer.clear()
        self.buffer.extend_newer(entries)
        self.loaded_at = self.incident.clock()
        self._older_end_ns = None
        self._ok()
        if not entries:
            self.note = "no lines in this window"
        self.view.empty_text = "no log lines match this query in the window (e: edit the LogQL)"
        self.refresh_lines(stick_to_end=True)
        if was_following:
            self.start_follow()

    async def _relabel(self) -> None:
        """The selector in this Loki's label names (only when they differ from the alert's)."""
        try:
            mapping = await self.drill.stream_label_map(start=self.target.start, end=self.target.end)
            logql = inert_logql(build_logql(self.target.labels, mapping))
        except (BackendError, ValueError):
            return
        if logql != self.logql:
            self.logql = logql
            self.query_one("#logql", Input).value = logql

    @work(exclusive=True, group="logs-older", exit_on_error=False, description="older log lines")
    async def load_older(self) -> None:
        """One page older than the oldest loaded line (or the window's start, when nothing is)."""
        oldest = self.buffer.oldest_ns
        if oldest is None or not self.logql:
            return
        span = max(self.target.end - self.target.start, 900.0)
        end_ns = oldest + 1  # Loki's end is exclusive: include lines sharing the oldest time
        if self._older_end_ns is not None:
            end_ns = min(end_ns, self._older_end_ns)
        start_ns = end_ns - to_ns(span)
        logql = self.logql
        self.note = "loading older lines…"
        self._loading_older = True
        self.render_status()
        try:
            entries = await self.drill.logs(logql, start=start_ns, end=end_ns, limit=self.page_size, direction="backward")
        except (BackendError, ValueError) as exc:
            self.note = ""
            self._failed(exc)
            return
        finally:
            self._loading_older = False
        if logql != self.logql:  # the query changed meanwhile: this page belongs to the old one
            return
        self._ok()
        anchor = self._anchor()
        added = self.buffer.extend_older(entries)
        if added:
            self._older_end_ns = None
            self.note = f"loaded {added:,} older lines"
        else:
            self._older_end_ns = start_ns
            self.note = f"no lines from {_hms(start_ns / 1e9)} to {_hms(end_ns / 1e9)} (o: look further back)"
        self.refresh_lines(anchor=anchor)

    def start_follow(self) -> None:
        """Follow new lines from the newest loaded one (or the window's end)."""
        self._cancel_follow_worker()
        start = self.buffer.newest_ns or to_ns(self.target.end)
        try:
            follower = self.drill.follow(self.logql, start=start, poll_interval=self.poll_interval)
        except (BackendError, ValueError) as exc:
            self.following = False
            self._failed(exc)
            return
        self._follower = follower
        self._follow_polls = follower.polls
        self.following = True
        self._follow_worker = self._follow(follower)
        if self._timer is not None:
            self._timer.resume()
        self.render_status()

    def _cancel_follow_worker(self) -> None:
        worker, self._follow_worker = self._follow_worker, None
        if worker is not None:
            worker.cancel()
        self._follower = None

    def stop_follow(self) -> None:
        self._cancel_follow_worker()
        self.following = False
        if self._timer is not None:
            self._timer.pause()
        if self.is_mounted:
            self.render_status()

    @work(exclusive=True, group="logs-follow", exit_on_error=False, description="follow logs")
    async def _follow(self, follower: LogFollower) -> None:
        try:
            async for batch in follower:
                if follower is not self._follower:
                    return
                self._on_batch(batch)
        except BackendError as exc:  # rejected query or auth: the follower gives up
            if follower is self._follower:
                self.stop_follow()
                self._failed(exc)

    def _on_batch(self, batch: list[LogEntry]) -> None:
        state = self.drill.sources.get("loki")
        if state is not None:
            state.ok(self.incident.clock())
        if self.error_kind == "down":
            self._ok()
        anchor = self._anchor()
        added = self.buffer.extend_newer(batch)
        if added:
            self.refresh_lines(stick_to_end=anchor[2], anchor=anchor)
        else:
            self.render_status()

    # --------------------------------------------------------------- the view --
    def _row_of(self, entry: LogEntry) -> int:
        """The row showing ``entry`` now (or the nearest row by time)."""
        entries = self.buffer.entries
        rows = self.rows
        count = len(rows) if rows is not None else len(entries)
        if count == 0:
            return 0
        if rows is not None:
            lo = bisect_left(rows, entry.ts, key=lambda i: entries[i].ts)
        else:
            lo = bisect_left(entries, entry.ts, key=lambda e: e.ts)
        for row in range(lo, count):
            found = entries[rows[row]] if rows is not None else entries[row]
            if found.ts != entry.ts:
                break
            if found is entry:
                return row
        return min(lo, count - 1)

    def _anchor(self) -> tuple[LogEntry | None, int, bool]:
        """The selected line, its row on screen, and whether it is the last: taken before the
        buffer changes (the view shares the buffer's list, so indices move under it)."""
        view = self.view
        if view.mode != "lines":
            return None, 0, False
        return view.selected_entry, view.cursor - round(view.scroll_y), view.at_end

    def refresh_lines(self, *, stick_to_end: bool = False, anchor: tuple[LogEntry | None, int, bool] | None = None) -> None:
        """Re-apply the filter and show the buffer, keeping the selected line in place."""
        view = self.view
        selected, offset, _ = anchor if anchor is not None else self._anchor()
        self.rows = self.buffer.filter(self.filter_text) if self.filter_text else None
        count = len(self.rows) if self.rows is not None else len(self.buffer)
        if stick_to_end or selected is None:
            cursor, offset = count - 1, -1
        else:
            cursor = self._row_of(selected)
        if self.pattern_mode:
            self.regroup()
        else:
            view.show_entries(self.buffer.entries, self.rows, version=self.buffer.version, cursor=cursor, offset=offset)
            self.render_detail()
        self.render_status()

    @work(exclusive=True, group="logs-patterns", exit_on_error=False, description="log patterns")
    async def regroup(self) -> None:
        entries = self.buffer.entries
        chosen = [entries[i] for i in self.rows] if self.rows is not None else list(entries)
        groups = await asyncio.to_thread(group_patterns, chosen)
        if not self.pattern_mode:
            return
        self.groups = groups
        self.view.show_patterns(groups)
        self.render_detail()
        self.render_status()

    def render_detail(self) -> None:
        pane = self.query_one("#logs-detail")
        if pane.has_class("hidden"):
            return
        view = self.view
        entry = view.selected_entry
        body = self.query_one("#logs-detail-body", Static)
        self.detail = entry_detail(entry, group=view.selected_group) if entry is not None else Group(Text("no line selected"))
        body.update(self.detail)

    @on(LogView.CursorMoved)
    def _cursor_moved(self) -> None:
        self.render_detail()

    @on(LogView.Selected)
    def _selected(self) -> None:
        pane = self.query_one("#logs-detail")
        pane.set_class(not pane.has_class("hidden"), "hidden")
        if not pane.has_class("hidden"):
            pane.scroll_home(animate=False)
        self.render_detail()
        self.view.move_cursor(self.view.cursor, notify=False)  # keep it visible above the pane

    @on(LogView.TopReached)
    def _top_reached(self) -> None:
        if not self.pattern_mode and len(self.buffer) and not self.querying and not self._loading_older:
            self.load_older()

    # ----------------------------------------------------------------- actions --
    def action_back(self) -> None:
        focused = self.focused
        filter_box = self.query_one("#filter", Input)
        logql_box = self.query_one("#logql", Input)
        if focused is filter_box or not filter_box.has_class("hidden") or self.filter_text:
            self._close_filter(clear=True)
        elif focused is logql_box:
            logql_box.value = self.logql
            self.view.focus()
        elif not self.query_one("#logs-detail").has_class("hidden"):
            self.query_one("#logs-detail").add_class("hidden")
            self.view.focus()
        else:
            self.stop_follow()
            self.app.pop_screen()

    def action_rerun(self) -> None:
        if self.logql:
            self.run_query()

    def action_edit_query(self) -> None:
        box = self.query_one("#logql", Input)
        box.focus()
        box.cursor_position = len(box.value)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("hidden")
        box.value = self.filter_text
        box.focus()

    def action_open_trace(self) -> None:
        entry = self.view.selected_entry
        trace_id = _entry_trace_id(entry) if entry is not None else None
        if not trace_id:
            self.notify("this line has no trace id", severity="warning", markup=False)
            return
        span_id = None
        if entry is not None:
            for source in (entry.metadata, entry.parsed, entry.labels):
                raw = source.get("span_id") or source.get("spanId") or source.get("spanID")
                if isinstance(raw, str) and len(raw.strip()) == 16 and normalize_trace_id(raw):
                    span_id = raw.strip().lower()
                    break
        self.post_message(OpenTrace(trace_id, span_id=span_id))

    def action_toggle_patterns(self) -> None:
        self.pattern_mode = not self.pattern_mode
        if self.pattern_mode:
            self.regroup()
        else:
            self.groups = None
            self.workers.cancel_group(self, "logs-patterns")
            self.refresh_lines(stick_to_end=True)
        self.render_status()

    def action_toggle_follow(self) -> None:
        if self.following:
            self.stop_follow()
            self.note = "follow off"
        elif not self.logql:
            self.notify("no query to follow: press e and type a LogQL selector", severity="warning", markup=False)
            return
        else:
            self.note = ""
            self.start_follow()
            self.refresh_lines(stick_to_end=True)
        self.render_status()

    def action_toggle_raw(self) -> None:
        view = self.view
        view.set_raw(not view.raw)
        self.note = "raw lines" if view.raw else ""
        self.render_status()

    def action_load_older(self) -> None:
        if self.pattern_mode:
            self.notify("leave pattern mode (p) to page through lines", markup=False)
            return
        self.load_older()

    # ------------------------------------------------------------------ inputs --
    @on(Input.Submitted, "#logql")
    def _query_submitted(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if not query:
            self.notify("type a LogQL selector, e.g. {service=\"name\"}", severity="warning", markup=False)
            return
        self.logql = inert_logql(query)
        event.input.value = self.logql
        self.view.focus()
        self.run_query()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if event.input.has_class("hidden"):
            return
        self.filter_text = event.value
        self.refresh_lines()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        text = event.value
        negate = text.startswith("!")
        if negate or text.startswith("\\!"):  # "\\!x" searches for a literal "!x"
            text = text[1:]
        if not text or not self.logql:
            self._close_filter(clear=not text)
            return
        try:
            query = add_line_filter(self.logql, text, negate=negate)
        except ValueError as exc:
            self.notify(sanitize_for_display(str(exc), max_chars=200), severity="error", markup=False)
            return
        self.logql = inert_logql(query)
        self.query_one("#logql", Input).value = self.logql
        self._close_filter(clear=True, refresh=False)
        self.run_query()

    def _close_filter(self, *, clear: bool, refresh: bool = True) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("hidden")
        if clear and self.filter_text:
            self.filter_text = ""
            box.value = ""
            if refresh:
                self.refresh_lines()
        self.view.focus()

    def on_key(self, event: Any) -> None:
        # down/tab from the filter box: back to the lines, keeping the filter.
        if self.focused is self.query_one("#filter", Input) and event.key in ("down", "tab"):
            self.query_one("#filter", Input).add_class("hidden")
            self.view.focus()
            event.stop()
            event.prevent_default()
