"""The waterfall's two other panes: the trace header (id, root, duration, spans, errors, Tempo
badge, service colour legend) and the selected span's detail. Values are painted inert."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from oncall_tui.core.waterfall.display import format_duration_ns, span_details
from oncall_tui.core.waterfall.view import Waterfall
from oncall_tui.models.tempo.trace import Span
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.widgets.waterfall import PALETTE_SIZE, palette_css


# ------------------------------------------------------------------------- header --
@dataclass(frozen=True)
class TraceSummaryInfo:
    """What the header shows (raw values; sanitised when painted)."""

    trace_id: str
    root_service: str = ""
    root_name: str = ""
    root_slot: int = -1
    duration: str = ""
    spans: int = 0
    errors: int = 0
    services: tuple[tuple[str, int], ...] = ()
    source: str = ""
    source_status: str = ""
    zoom: str = ""
    partial: str = ""


class TraceHeader(Widget):
    """Two lines: the trace (id, root, duration, spans, errors, Tempo badge) and the service
    colour legend (plus the zoom window)."""

    COMPONENT_CLASSES = {
        "trace-header--title",
        "trace-header--muted",
        "trace-header--error",
        "trace-header--ok",
        "trace-header--warn",
        *(f"trace-header--svc-{i}" for i in range(PALETTE_SIZE)),
        *(f"trace-header--bar-{i}" for i in range(PALETTE_SIZE)),
    }
    DEFAULT_CSS = (
        """
    TraceHeader { height: 2; background: $panel; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    TraceHeader > .trace-header--title { text-style: bold; }
    TraceHeader > .trace-header--muted { color: $foreground-muted; }
    TraceHeader > .trace-header--error { color: $error; text-style: bold; }
    TraceHeader > .trace-header--ok { color: $source-fresh; }
    TraceHeader > .trace-header--warn { color: $source-stale; text-style: bold; }
    """
        + palette_css("TraceHeader")
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.info: TraceSummaryInfo | None = None

    def show(self, info: TraceSummaryInfo) -> None:
        if info != self.info:
            self.info = info
            self.refresh()

    def render(self) -> Text:
        info = self.info
        if info is None:
            return Text("")
        cs = self.get_component_rich_style
        clean = sanitize_for_display
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        line.append(f"trace {clean(info.trace_id, max_chars=64)}", cs("trace-header--title", partial=True))
        if info.duration:
            line.append(f"  {info.duration}", cs("trace-header--title", partial=True))
        if info.spans:
            line.append(f"  {info.spans} spans", cs("trace-header--muted", partial=True))
            line.append("  ")
            line.append(
                f"{info.errors} error{'s' if info.errors != 1 else ''}",
                cs("trace-header--error" if info.errors else "trace-header--muted", partial=True),
            )
        if info.partial:
            line.append("  " + clean(info.partial, max_chars=200), cs("trace-header--warn", partial=True))
        if info.root_service or info.root_name:
            line.append("  ")
            root_style = cs(f"trace-header--svc-{info.root_slot % PALETTE_SIZE}", partial=True) if info.root_slot >= 0 else None
            line.append(clean(info.root_service, max_chars=64), root_style)
            line.append(" " + clean(info.root_name, max_chars=120))
        legend = Text(no_wrap=True, overflow="ellipsis", end="")
        if info.source:
            status = {"fresh": "trace-header--ok", "loading": "trace-header--muted"}.get(info.source_status, "trace-header--warn")
            if info.source_status in ("down", "auth"):
                status = "trace-header--error"
            legend.append(clean(info.source, max_chars=300), cs(status, partial=True))
            legend.append("  ")
        for service, slot in info.services:
            legend.append("■ ", cs(f"trace-header--svc-{slot % PALETTE_SIZE}", partial=True))
            legend.append(clean(service, max_chars=64) + "  ")
        if info.zoom:
            legend.append(info.zoom, cs("trace-header--warn", partial=True))
        return Text("\n", no_wrap=True, overflow="ellipsis", end="").join([line, legend])


# ------------------------------------------------------------------------- detail --
class SpanDetail(VerticalScroll):
    """The selected span: ids, timing, status, attributes, resource, events (exception
    stack traces as multi-line inert text) and links (``enter`` on one opens that trace)."""

    COMPONENT_CLASSES = {"span-detail--key", "span-detail--error", "span-detail--section"}
    DEFAULT_CSS = """
    SpanDetail { height: 45%; border-top: solid $primary; background: $surface; padding: 0 1; }
    SpanDetail > .span-detail--key { color: $foreground-muted; }
    SpanDetail > .span-detail--error { color: $error; text-style: bold; }
    SpanDetail > .span-detail--section { color: $accent; text-style: bold; }
    SpanDetail #detail-text { height: auto; }
    SpanDetail #detail-links { height: auto; max-height: 8; border: none; padding: 0; background: $surface; }
    SpanDetail #detail-links.hidden { display: none; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.span: Span | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="detail-text", markup=False)
        yield OptionList(id="detail-links", classes="hidden")

    def show(self, span: Span | None) -> None:
        if span is self.span:
            return
        self.span = span
        text_widget = self.query_one("#detail-text", Static)
        links = self.query_one("#detail-links", OptionList)
        links.clear_options()
        if span is None:
            text_widget.update(Text(""))
            links.add_class("hidden")
            return
        text_widget.update(self.detail_text(span))
        if span.links:
            links.add_options(
                Option(Text(f"→ open linked trace {ln.trace_id} (span {ln.span_id})" + self._reason(ln.attributes)), id=f"{ln.trace_id}:{ln.span_id}")
                for ln in span.links
            )
            links.highlighted = 0
            links.remove_class("hidden")
        else:
            links.add_class("hidden")
        self.scroll_home(animate=False)

    def on_resize(self) -> None:
        if self.span is not None:
            self.query_one("#detail-text", Static).update(self.detail_text(self.span))

    @staticmethod
    def _reason(attributes: list[tuple[str, str]]) -> str:
        reason = next((v for k, v in attributes if k == "link.reason"), "")
        return f" — {sanitize_for_display(reason, max_chars=120)}" if reason else ""

    #: Section order in the pane: an error span's exception matters more than its attributes.
    SECTIONS = (("", ""), ("event", "events"), ("link", "links (tab: select, enter: open the linked trace)"), ("attr", "attributes"), ("resource", "resource"))

    def detail_rows(self, span: Span) -> list[tuple[str, str, str]]:
        """``(key, value, kind)`` rows; kind is ``section``, ``error`` or ``""``. Values are
        sanitised by ``span_details`` (stack traces keep their newlines, nothing else does).
        Order: ids/timing/status, events, links, attributes, resource."""
        groups: dict[str, list[tuple[str, str, str]]] = {name: [] for name, _ in self.SECTIONS}
        section = ""
        for key, value in span_details(span):
            kind = key.split(" ", 1)[0] if key.startswith(("attr ", "resource ", "event ")) else ""
            if key == "link":
                kind = "link"
            if kind:
                section = kind
            shown = key[len(kind) + 1 :] if kind in ("attr", "resource") else key
            is_error = (key == "status" and value.startswith("error")) or shown.strip() in ("exception.type", "exception.message")
            groups[section].append((shown, value, "error" if is_error else ""))
        rows: list[tuple[str, str, str]] = []
        for name, title in self.SECTIONS:
            if groups[name] and title:
                rows.append((title, "", "section"))
            rows += groups[name]
        return rows

    def detail_text(self, span: Span) -> Table:
        """The span's fields as a two-column grid of inert ``Text`` (hanging indentation)."""
        cs = self.get_component_rich_style
        key_style = cs("span-detail--key", partial=True)
        err_style = cs("span-detail--error", partial=True)
        section_style = cs("span-detail--section", partial=True)
        rows = self.detail_rows(span)
        pane = self.size.width or self.app.size.width or 80
        key_width = min(max((cell_len(k) for k, _, kind in rows if kind != "section"), default=8), max(12, pane // (3 if pane >= 100 else 4)), 32)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(width=key_width, min_width=key_width, no_wrap=True, overflow="ellipsis")
        grid.add_column(overflow="fold")
        for key, value, kind in rows:
            if kind == "section":
                grid.add_row(Text(""), Text(""))
                grid.add_row(Text(key, section_style, no_wrap=True), Text(""))
                continue
            grid.add_row(
                Text(key, key_style, no_wrap=True, overflow="ellipsis"),
                Text(value, err_style if kind == "error" else "", overflow="fold"),
            )
        return grid


def describe_zoom(waterfall: Waterfall) -> str:
    """``zoom +1.20s…+3.40s (0: reset)`` when zoomed, else ``""``."""
    if not waterfall.zoomed:
        return ""
    t0, t1 = waterfall.view
    origin = waterfall.start_ns
    return f"zoom +{format_duration_ns(t0 - origin)}…+{format_duration_ns(t1 - origin)} (0: reset)"
