"""One trace as a waterfall (Jaeger-like): span tree, bars on the time axis, critical path,
search, span detail, and the jump to the logs of a span's service or of the whole trace.

``WaterfallScreen(trace_id, span_id=None)`` is pushed by ``:trace <id>``, by ``enter`` on the
trace list and by the ``OpenTrace`` message. The trace is fetched in a worker; the tree is built in a
thread (a 10,000-span trace must not freeze the UI); only the rows on screen are painted
(:class:`~oncall_tui.widgets.waterfall.WaterfallView`).

Keys: ``↑/↓ j/k`` move, ``←/→`` collapse/expand (``←`` on a leaf goes to the parent), ``p/o``
one level less/more, ``*`` expand all, ``-`` collapse all, ``e`` next error span, ``/``
search (``n``/``N`` next/previous match), ``enter`` span detail (``tab`` to its links, ``enter``
on one opens that trace), ``z`` zoom into the selected span's time, ``0`` reset zoom, ``l``
(app key) logs of the selected span's service around the span, ``L`` logs of this trace id,
``ctrl+r`` reload, ``esc`` closes the search/detail, then goes back.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.worker import Worker, WorkerState

from oncall_tui.clients.errors import BackendError, NotFound, clean_message
from oncall_tui.core.target import DrillTarget
from oncall_tui.core.waterfall.display import format_duration_ns
from oncall_tui.core.waterfall.view import Waterfall
from oncall_tui.models.tempo.ids import (
    InvalidTraceId,
    normalize_span_id,
    normalize_trace_id,
)
from oncall_tui.screens.shell import OpenLogs, OpenTrace, ShellAccess, header_state
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.widgets.footer import KeyHints
from oncall_tui.widgets.header import StatusHeader, update_if_changed
from oncall_tui.widgets.trace_panes import (
    SpanDetail,
    TraceHeader,
    TraceSummaryInfo,
    describe_zoom,
)
from oncall_tui.widgets.waterfall import PALETTE_SIZE, WaterfallView

if TYPE_CHECKING:
    from oncall_tui.incident import Incident
    from oncall_tui.models.tempo.trace import Span

#: Logs windows are padded by this much on both sides (too tight a window is Grafana users'
#: most common complaint: clocks differ, log lines are written after the span ends).
LOG_PAD_SECONDS = 300.0


def tempo_badge(incident: Incident) -> tuple[str, str]:
    """``("tempo ok 4s", "fresh")`` / ``("tempo DOWN since 10:31:05, data 4s old (DOWN: reason)", "down")``."""
    state = incident.session.drill.sources.get("tempo")
    if state is None:
        return "tempo: no endpoint in this context", "down"
    now = incident.clock()
    status = state.status(now)
    text = f"tempo {state.badge(now)}"
    if state.error:
        text += f" ({state.error_badge or 'error'}: {state.error})"
    return sanitize_for_display(text, max_chars=300), status


class WaterfallScreen(ShellAccess, Screen):
    """Header, trace summary and service legend, the span rows, the span detail, a footer."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="waterfall-back"),
        Binding("q", "back", "Back", show=False, id="waterfall-back-q"),
        Binding("enter", "toggle_detail", "Detail", id="waterfall-detail"),
        Binding("slash", "search", "Search", id="waterfall-search"),
        Binding("n", "next_match(1)", "Next match", show=False, id="waterfall-next-match"),
        Binding("N", "next_match(-1)", "Previous match", show=False, id="waterfall-previous-match"),
        Binding("L", "trace_logs", "Trace logs", id="waterfall-trace-logs"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="waterfall-reload"),
    ]

    DEFAULT_CSS = """
    WaterfallScreen { layout: vertical; }
    WaterfallScreen #message { height: auto; padding: 0 1; color: $foreground; }
    WaterfallScreen #message.error { color: $source-down; text-style: bold; }
    WaterfallScreen #message.hidden { display: none; }
    WaterfallScreen #detail.hidden { display: none; }
    /* With the detail open a short trace keeps only the rows it has; the detail gets the rest. */
    WaterfallScreen.-detail WaterfallView { height: auto; max-height: 55%; }
    WaterfallScreen.-detail #detail { height: 1fr; min-height: 6; }
    WaterfallScreen #search { display: none; border: none; height: 1; padding: 0 1; }
    WaterfallScreen #search.visible { display: block; }
    WaterfallScreen #search-status { height: 1; display: none; background: $panel; color: $foreground-muted; padding: 0 1; }
    WaterfallScreen #search-status.visible { display: block; }
    """

    #: The span rows get the keys from the start (one bindings refresh, one footer compose).
    AUTO_FOCUS = "#waterfall"

    def __init__(self, trace_id: str, *, span_id: str | None = None) -> None:
        super().__init__()
        self.trace_id = trace_id.strip()
        self.span_id = span_id
        self.waterfall: Waterfall | None = None
        self.query_text = ""
        self.match_nodes: list[int] = []
        self._last_error = ""

    # ------------------------------------------------------------ drill target --
    @property
    def drill_target(self) -> DrillTarget | None:
        """The selected span's service over the span's time padded by 5 minutes (``l``)."""
        span = self.selected_span()
        if span is None:
            return None
        start = span.start_ns / 1e9 - LOG_PAD_SECONDS
        end = max(span.end_ns, span.start_ns) / 1e9 + LOG_PAD_SECONDS
        return DrillTarget(start, end, span.service, {"service": span.service})

    def selected_span(self) -> Span | None:
        if self.waterfall is None:
            return None
        return self.query_one(WaterfallView).selected_span

    # ----------------------------------------------------------------- compose --
    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield TraceHeader(id="trace-header")
        yield Static("", id="message", markup=False)
        yield WaterfallView(id="waterfall")
        yield SpanDetail(id="detail", classes="hidden")
        yield Static("", id="search-status", markup=False)
        yield Input(placeholder="search spans: name, service, attribute key=value, event — enter keeps, esc clears", id="search")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one(StatusHeader).show(header_state(self.shell))
        self._show_header()
        self._message(f"loading trace {sanitize_for_display(self.trace_id, max_chars=80)} from Tempo…")
        self.load_trace()

    # -------------------------------------------------------------------- data --
    @work(exclusive=True, group="waterfall-load", exit_on_error=False, description="trace waterfall")
    async def load_trace(self) -> None:
        incident = self.incident
        shown_id = sanitize_for_display(self.trace_id, max_chars=80)
        try:
            hex_id = normalize_trace_id(self.trace_id)
        except InvalidTraceId as exc:
            self._message(f"{shown_id!s} is not a trace id: {exc}", error=True)
            self._show_header()
            return
        try:
            trace = await incident.session.drill.trace(hex_id)
        except NotFound:
            self._message(f"trace {hex_id} not found in Tempo (not ingested yet, outside retention, or a wrong id)", error=True)
            self._show_header()
            return
        except BackendError as exc:
            # Keep a trace already shown (a reload that failed): the badge says STALE/DOWN.
            self._last_error = str(exc)
            self._message(f"cannot load trace {hex_id}: {exc}", error=True)
            self._show_header()
            return
        except ValueError as exc:  # a body Tempo should not send (TempoFormatError)
            self._message(f"trace {hex_id}: unreadable response: {exc}", error=True)
            self._show_header()
            return
        self.trace_id = hex_id
        waterfall = await asyncio.to_thread(Waterfall, trace, palette_size=PALETTE_SIZE)
        self.show_waterfall(waterfall)

    def show_waterfall(self, waterfall: Waterfall) -> None:
        """Show a built waterfall (also used by tests and benchmarks to skip the fetch)."""
        self.waterfall = waterfall
        select = None
        if self.span_id:
            try:
                wanted = normalize_span_id(self.span_id)
            except ValueError:
                wanted = ""
            select = next((k for k, s in enumerate(waterfall.spans) if s.span_id == wanted), None)
        view = self.query_one(WaterfallView)
        view.set_waterfall(waterfall, select=select)
        if waterfall.trace.partial and waterfall.trace.message:
            self._message(f"partial trace: {waterfall.trace.message}")
        else:
            self._message("")
        if self.query_text:
            self._apply_search(self.query_text)
        self._show_header()

    def _message(self, text: str, *, error: bool = False) -> None:
        box = self.query_one("#message", Static)
        update_if_changed(box, sanitize_for_display(text, max_chars=500))
        box.set_class(not text, "hidden")
        box.set_class(error, "error")

    def _show_header(self) -> None:
        badge, status = tempo_badge(self.incident)
        wf = self.waterfall
        if wf is None:
            info = TraceSummaryInfo(trace_id=self.trace_id, source=badge, source_status=status)
        else:
            trace = wf.trace
            root = wf.spans[wf.main_root()] if len(wf) else None
            info = TraceSummaryInfo(
                trace_id=trace.trace_id or self.trace_id,
                root_service=root.service if root else "",
                root_name=root.name if root else "",
                root_slot=wf.colors.get(root.service, -1) if root else -1,
                duration=format_duration_ns(wf.end_ns - wf.start_ns),
                spans=len(wf),
                errors=trace.error_count,
                services=tuple(sorted(wf.colors.items())),
                source=badge,
                source_status=status,
                zoom=describe_zoom(wf),
                partial="PARTIAL" if trace.partial else "",
            )
        self.query_one(TraceHeader).show(info)

    # ----------------------------------------------------------------- events --
    @on(WaterfallView.Highlighted)
    def _highlighted(self, event: WaterfallView.Highlighted) -> None:
        detail = self.query_one(SpanDetail)
        if not detail.has_class("hidden"):
            detail.show(self.selected_span())

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # A bug, not a backend error (those are handled in load_trace): say so, keep running.
        if event.worker.group == "waterfall-load" and event.state == WorkerState.ERROR:
            error = event.worker.error
            self._message(f"cannot show trace {self.trace_id}: {type(error).__name__}: {clean_message(error, max_chars=300)}", error=True)

    @on(WaterfallView.ViewChanged)
    def _view_changed(self) -> None:
        self._show_header()

    @on(OptionList.OptionSelected, "#detail-links")
    def _link_selected(self, event: OptionList.OptionSelected) -> None:
        trace_id, _, span_id = (event.option.id or "").partition(":")
        if trace_id:
            self.post_message(OpenTrace(trace_id, span_id=span_id or None))

    # ---------------------------------------------------------------- actions --
    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_class("visible"):
            self._close_search(keep=False)
            return
        detail = self.query_one(SpanDetail)
        if not detail.has_class("hidden"):
            self._show_detail(False)
            return
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load_trace()

    def action_toggle_detail(self) -> None:
        detail = self.query_one(SpanDetail)
        if detail.has_class("hidden"):
            span = self.selected_span()
            if span is None:
                return
            detail.show(span)
            self._show_detail(True)
        else:
            self._show_detail(False)

    def _show_detail(self, show: bool) -> None:
        self.query_one(SpanDetail).set_class(not show, "hidden")
        self.set_class(show, "-detail")
        view = self.query_one(WaterfallView)
        view.focus()
        self.call_after_refresh(view._scroll_cursor_into_view)

    def action_trace_logs(self) -> None:
        """The logs of this trace id: the selected span's service, the trace's window padded."""
        self.open_trace_logs()

    @work(exclusive=True, group="waterfall-trace-logs", exit_on_error=False, description="trace logs query")
    async def open_trace_logs(self) -> None:
        """Asks the drill-down for the query (``| trace_id="…"`` when the service's lines carry
        it as structured metadata, else ``|= "…"``), then opens the logs."""
        wf = self.waterfall
        if wf is None or not len(wf):
            return
        span = self.selected_span() or wf.spans[wf.main_root()]
        service = span.service
        start, end = wf.start_ns / 1e9 - LOG_PAD_SECONDS, wf.end_ns / 1e9 + LOG_PAD_SECONDS
        try:
            logql = await self.incident.session.drill.trace_logs_query(service, wf.trace.trace_id or self.trace_id, start=start, end=end)
        except ValueError as exc:
            self.notify(sanitize_for_display(f"cannot build a logs query: {exc}", max_chars=300), severity="error", markup=False)
            return
        self.post_message(OpenLogs(DrillTarget(start, end, service, {"service": service}), logql=logql))

    # ------------------------------------------------------------------ search --
    def action_search(self) -> None:
        if self.waterfall is None:
            return
        box = self.query_one("#search", Input)
        box.value = self.query_text
        box.add_class("visible")
        box.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._apply_search(event.value)

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self._close_search(keep=True)
        if self.match_nodes:
            self.action_next_match(1, include_current=True)

    def _close_search(self, *, keep: bool) -> None:
        box = self.query_one("#search", Input)
        box.remove_class("visible")
        if not keep:
            self._apply_search("")
        self.query_one(WaterfallView).focus()

    def _apply_search(self, text: str) -> None:
        self.query_text = text
        wf = self.waterfall
        view = self.query_one(WaterfallView)
        self.match_nodes = wf.find(text) if wf is not None and text else []
        view.set_matches(self.match_nodes)
        status = self.query_one("#search-status", Static)
        if text:
            shown = sanitize_for_display(text, max_chars=60)
            hidden = 0
            if wf is not None and self.match_nodes:
                hidden = sum(1 for k in self.match_nodes if wf.position_of(k) is None)
            extra = f" ({hidden} inside collapsed spans)" if hidden else ""
            update_if_changed(status, f"/{shown}: {len(self.match_nodes)} matching spans{extra} — n next, N previous")
        status.set_class(bool(text), "visible")

    def action_next_match(self, step: int = 1, include_current: bool = False) -> None:
        view = self.query_one(WaterfallView)
        if not self.match_nodes:
            return
        current = view.selected_node or 0
        if step > 0:
            after = [k for k in self.match_nodes if k > current or (include_current and k == current)]
            node = after[0] if after else self.match_nodes[0]
        else:
            before = [k for k in self.match_nodes if k < current]
            node = before[-1] if before else self.match_nodes[-1]
        view.select_node(node)
        position = self.match_nodes.index(node) + 1
        shown = sanitize_for_display(self.query_text, max_chars=60)
        update_if_changed(
            self.query_one("#search-status", Static),
            f"/{shown}: match {position} of {len(self.match_nodes)} — n next, N previous",
        )


__all__ = ["LOG_PAD_SECONDS", "WaterfallScreen", "tempo_badge"]
