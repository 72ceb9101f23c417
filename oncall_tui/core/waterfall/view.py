"""The waterfall of one trace (:class:`Waterfall`): its :class:`~.tree.SpanTree` and critical
path plus the view state (collapsed nodes, zoom window), the rows the UI paints
(:meth:`Waterfall.window`) and search over them. Pure: no Textual, no httpx.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from oncall_tui.core.waterfall.critical import CriticalSection, critical_path
from oncall_tui.core.waterfall.display import (
    DEFAULT_PALETTE_SIZE,
    format_duration_ns,
    span_label,
)
from oncall_tui.core.waterfall.layout import Bar, layout_bar, ruler, section_cols
from oncall_tui.core.waterfall.search import find_spans, span_haystacks
from oncall_tui.core.waterfall.tree import NO_PARENT, SpanTree
from oncall_tui.models.tempo.trace import Span, Trace
from oncall_tui.text.sanitize import sanitize_for_display

__all__ = ["Node", "Row", "Waterfall"]


@dataclass(slots=True, frozen=True)
class Node:
    """A read-only view of one span in the tree (built on demand by :meth:`Waterfall.node`).

    ``index`` is the pre-order position; the subtree is ``[index, end)``; ``parent`` is a node
    index or ``NO_PARENT``; ``children`` are node indices in start order.
    """

    index: int
    span: Span
    depth: int
    parent: int
    children: tuple[int, ...]
    end: int
    orphan: bool
    error: bool
    subtree_errors: int
    self_ns: int
    critical: bool
    color: int

    @property
    def has_children(self) -> bool:
        return bool(self.children)

    @property
    def descendants(self) -> int:
        return self.end - self.index - 1


@dataclass(slots=True, frozen=True)
class Row:
    """One visible row, ready to paint. Text fields are sanitised; ``span`` is raw."""

    position: int
    node: int
    span: Span
    depth: int
    bar: Bar
    label: str
    service: str
    name: str
    duration: str
    color: int
    error: bool
    subtree_errors: int
    critical: bool
    critical_cols: tuple[tuple[int, int], ...]
    collapsed: bool
    has_children: bool
    hidden: int
    orphan: bool
    self_ns: int
    match: bool = False


class Waterfall(SpanTree):
    """The span tree of one trace plus the view state (collapsed nodes, zoom window).

    The tree is kept as parallel lists indexed by pre-order position (see :class:`SpanTree`):
    a 10,000-span trace then costs a dozen lists instead of tens of thousands of objects for
    the garbage collector to walk. :meth:`node` gives a convenient view of one entry.
    """

    def __init__(self, trace: Trace, *, palette_size: int = DEFAULT_PALETTE_SIZE) -> None:
        super().__init__(trace, palette_size=palette_size)
        self.view: tuple[int, int] = (self.start_ns, self.end_ns)
        self.collapsed: set[int] = set()
        self._visible: list[int] | None = None
        self._haystacks: list[str] | None = None
        self.critical_path: list[CriticalSection] = critical_path(self)
        self._critical_by_node: dict[int, list[tuple[int, int]]] = {}
        by_node = self._critical_by_node
        for sec in self.critical_path:
            by_node.setdefault(sec.node, []).append((sec.start_ns, sec.end_ns))
        self.critical: set[int] = set(by_node)

    def node(self, k: int) -> Node:
        """A read-only view of node ``k``."""
        sp = self.spans[k]
        return Node(
            index=k,
            span=sp,
            depth=self.depth[k],
            parent=self.parent[k],
            children=tuple(self.children(k)),
            end=self.end[k],
            orphan=k in self.orphans,
            error=sp.status == "error",
            subtree_errors=self.subtree_errors[k],
            self_ns=self.self_ns[k],
            critical=k in self.critical,
            color=self.color[k],
        )

    # ------------------------------------------------------------------ collapse --
    def _changed(self) -> None:
        self._visible = None

    def collapse(self, node: int) -> None:
        """Hide the node's descendants (no-op on a leaf)."""
        if self.has_children(node):
            self.collapsed.add(node)
            self._changed()

    def expand(self, node: int) -> None:
        self.collapsed.discard(node)
        self._changed()

    def toggle(self, node: int) -> None:
        if node in self.collapsed:
            self.expand(node)
        else:
            self.collapse(node)

    def collapse_all(self) -> None:
        """Only the root-level rows stay visible."""
        end = self.end
        self.collapsed = {k for k in range(len(end)) if end[k] > k + 1}
        self._changed()

    def expand_all(self) -> None:
        self.collapsed = set()
        self._changed()

    def collapse_level(self) -> None:
        """Collapse the deepest level of visible, expanded parents (one level less shown)."""
        expanded = [k for k in self.visible_nodes() if self.has_children(k) and k not in self.collapsed]
        if not expanded:
            return
        deepest = max(self.depth[k] for k in expanded)
        self.collapsed.update(k for k in expanded if self.depth[k] == deepest)
        self._changed()

    def expand_level(self) -> None:
        """Expand the shallowest level of visible, collapsed parents (one level more shown)."""
        shut = [k for k in self.visible_nodes() if k in self.collapsed]
        if not shut:
            return
        shallowest = min(self.depth[k] for k in shut)
        self.collapsed.difference_update(k for k in shut if self.depth[k] == shallowest)
        self._changed()

    def reveal(self, node: int) -> None:
        """Expand every ancestor of ``node`` so that it is visible (e.g. a search hit)."""
        p = self.parent[node]
        changed = False
        while p != NO_PARENT:
            if p in self.collapsed:
                self.collapsed.discard(p)
                changed = True
            p = self.parent[p]
        if changed:
            self._changed()

    def visible_ancestor(self, node: int) -> int:
        """``node`` if visible, else its nearest visible ancestor (keeps a selection on screen)."""
        chain = []
        p = self.parent[node]
        while p != NO_PARENT:
            chain.append(p)
            p = self.parent[p]
        for anc in reversed(chain):  # from the top: the first collapsed ancestor hides the rest
            if anc in self.collapsed:
                return anc
        return node

    def visible_nodes(self) -> list[int]:
        """Node indices of the visible rows, top to bottom (cached until the state changes)."""
        if self._visible is None:
            n = len(self.spans)
            if not self.collapsed:
                self._visible = list(range(n))
            else:
                out: list[int] = []
                end, collapsed = self.end, self.collapsed
                i = 0
                while i < n:
                    out.append(i)
                    i = end[i] if i in collapsed else i + 1
                self._visible = out
        return self._visible

    @property
    def row_count(self) -> int:
        return len(self.visible_nodes())

    def position_of(self, node: int) -> int | None:
        """Row position of a node, or None while it is hidden."""
        rows = self.visible_nodes()
        if len(rows) == len(self.spans):
            return node
        k = bisect.bisect_left(rows, node)
        return k if k < len(rows) and rows[k] == node else None

    # ---------------------------------------------------------------------- zoom --
    def zoom(self, t0: int, t1: int) -> None:
        """Show only ``[t0, t1]`` (ns since the epoch) on the time axis."""
        if t1 <= t0:
            raise ValueError("zoom window must have t1 > t0")
        self.view = (int(t0), int(t1))

    def zoom_to(self, node: int) -> None:
        """Zoom to one span's time range."""
        sp = self.spans[node]
        self.zoom(sp.start_ns, max(sp.end_ns, sp.start_ns + 1))

    def reset_zoom(self) -> None:
        self.view = (self.start_ns, self.end_ns)

    @property
    def zoomed(self) -> bool:
        return self.view != (self.start_ns, self.end_ns)

    # -------------------------------------------------------------------- layout --
    def bar(self, node: int, width: int) -> Bar:
        sp = self.spans[node]
        return layout_bar(sp.start_ns, sp.end_ns, width, *self.view)

    def layout(self, width: int, nodes: Sequence[int] | None = None) -> list[Bar]:
        """Bars for ``nodes`` (default: every visible row) at ``width`` columns."""
        t0, t1 = self.view
        spans = self.spans
        ix = self.visible_nodes() if nodes is None else nodes
        if width < 1:
            return [layout_bar(spans[i].start_ns, spans[i].end_ns, width, t0, t1) for i in ix]
        scale = width / max(t1 - t0, 1)
        last = width - 1
        ceil = math.ceil
        out = []
        for i in ix:
            sp = spans[i]
            s, e = sp.start_ns, sp.end_ns
            if t0 <= s <= e <= t1:  # the common case, inlined (same result as layout_bar)
                a = min(int((s - t0) * scale), last)
                b = min(ceil((e - t0) * scale), width)  # min: float rounding at t1
                out.append(Bar(a, max(b, a + 1)))
            else:
                out.append(layout_bar(s, e, width, t0, t1))
        return out

    def window(self, offset: int, height: int, width: int, *, matches: Iterable[int] = ()) -> list[Row]:
        """The visible rows ``[offset, offset + height)`` laid out for a ``width``-column track.

        Only these rows are laid out and their labels sanitised: the UI paints what it shows.
        ``matches`` (node indices, e.g. from :meth:`find`) flags search hits.
        """
        rows = self.visible_nodes()
        offset = max(0, min(offset, len(rows)))
        hits = set(matches)
        t0, t1 = self.view
        out = []
        for pos in range(offset, min(offset + max(height, 0), len(rows))):
            i = rows[pos]
            sp = self.spans[i]
            critical = i in self.critical
            collapsed = i in self.collapsed
            out.append(
                Row(
                    position=pos,
                    node=i,
                    span=sp,
                    depth=self.depth[i],
                    bar=layout_bar(sp.start_ns, sp.end_ns, width, t0, t1),
                    label=span_label(sp),
                    service=sanitize_for_display(sp.service, max_chars=100),
                    name=sanitize_for_display(sp.name, max_chars=200),
                    duration=format_duration_ns(sp.duration_ns),
                    color=self.color[i],
                    error=sp.status == "error",
                    subtree_errors=self.subtree_errors[i],
                    critical=critical,
                    critical_cols=section_cols(self._critical_by_node[i], width, t0, t1) if critical else (),
                    collapsed=collapsed,
                    has_children=self.has_children(i),
                    hidden=self.end[i] - i - 1 if collapsed else 0,
                    orphan=i in self.orphans,
                    self_ns=self.self_ns[i],
                    match=i in hits,
                )
            )
        return out

    def ruler(self, width: int, *, min_gap: int = 10) -> list[tuple[int, str]]:
        """Axis ticks for the current view, labelled relative to the trace start."""
        return ruler(width, *self.view, origin=self.start_ns, min_gap=min_gap)

    # -------------------------------------------------------------------- search --
    def _haystack(self) -> list[str]:
        if self._haystacks is None:
            self._haystacks = span_haystacks(self.spans)
        return self._haystacks

    def find(self, query: str) -> list[int]:
        """Node indices (tree order) whose name, service, span id, status message, attributes
        (``key=value``) or events contain ``query``, case-insensitively. Hidden nodes included."""
        if not query.casefold():
            return []
        return find_spans(self._haystack(), query)

    def search(self, query: str) -> list[int]:
        """Row positions of the *visible* matching rows (for n/N navigation)."""
        hits = self.find(query)
        if not hits:
            return []
        rows = self.visible_nodes()
        if len(rows) == len(self.spans):
            return hits
        wanted = set(hits)
        return [pos for pos, i in enumerate(rows) if i in wanted]
