"""Trace waterfall logic: span tree, critical path, collapse state, bar layout, search.

Pure (no Textual, no httpx) and built for big traces: one pass lays the tree out in pre-order
as parallel lists (a node's subtree is the contiguous slice ``[k, end[k])``), so the
visible-row list, the collapse operations and the window the UI paints are simple index
walks, and a 10,000-span trace is a dozen lists rather than tens of thousands of objects for
the garbage collector. Every walk is iterative: a 10,000-deep chain must not hit Python's
recursion limit.

- Spans whose parent is missing (not received yet, or filtered out) and spans caught in a
  parent cycle sit at the root level, marked (``Waterfall.orphans``, ``Row.orphan``).
- Children are ordered by start time (ties: end time, then arrival order).
- The critical path is the classic one (as in Jaeger): from the root, repeatedly take the
  last-finishing child that ends before the point reached so far, descend into it, and come
  back up to the time it started. Children are first clipped to their parent (a child that
  outlives its parent counts only up to the parent's end); overlapping siblings that end after
  the point reached are not on the path. The sections (span, start, end) cover the root's
  duration exactly.
- Bars are laid out in ``[0, width)`` columns on the trace's time axis or a zoomed slice;
  spans outside the slice are marked, partly outside ones clipped and marked.
- Display helpers return text made safe by :func:`sanitize_for_display`; the model keeps the
  raw values.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from oncall_tui.core.sanitize import MAX_LABEL_VALUE, sanitize_for_display
from oncall_tui.models.tempo.trace import Span, Trace

__all__ = [
    "DEFAULT_PALETTE_SIZE",
    "NO_PARENT",
    "Bar",
    "CriticalSection",
    "Node",
    "Row",
    "Waterfall",
    "assign_service_colors",
    "format_duration_ns",
    "layout_bar",
    "ruler",
    "span_details",
    "span_label",
]

DEFAULT_PALETTE_SIZE = 8
NO_PARENT = -1


# ------------------------------------------------------------------------ formatting --
def format_duration_ns(ns: float) -> str:
    """A span duration with three significant digits: ``850ns``, ``12.3µs``, ``46.2ms``,
    ``1.7s``, ``2m05s``. (``format.seconds`` rounds to whole ms: too coarse for spans.)"""
    if math.isnan(ns):
        return "–"
    ns = max(float(ns), 0.0)
    if ns < 999.5:
        return f"{ns:.0f}ns"
    for unit, suffix in ((1e3, "µs"), (1e6, "ms"), (1e9, "s")):
        text = f"{ns / unit:.3g}"
        if float(text) < 1000:
            if suffix == "s" and float(text) >= 60:
                break
            return f"{text}{suffix}"
    minutes, secs = divmod(round(ns / 1e9), 60)
    return f"{minutes}m{secs:02d}s"


def assign_service_colors(services: Iterable[str], palette_size: int = DEFAULT_PALETTE_SIZE) -> dict[str, int]:
    """Palette index per service: its own stable slot (CRC32 of the name) unless another
    service of this set already holds it, then the next free one (names in sorted order).

    The same service keeps its colour across traces and sessions as long as it does not collide,
    and services of one trace get distinct colours while there are enough.
    """
    if palette_size < 1:
        raise ValueError("palette_size must be at least 1")
    out: dict[str, int] = {}
    taken: set[int] = set()
    for service in sorted(set(services)):
        slot = zlib.crc32(service.encode("utf-8", "surrogatepass")) % palette_size
        if len(taken) < palette_size:
            while slot in taken:
                slot = (slot + 1) % palette_size
        taken.add(slot)
        out[service] = slot
    return out


# ----------------------------------------------------------------------------- layout --
class Bar(NamedTuple):
    """Where a span's bar goes: columns ``[start, end)`` of a ``width``-column track.

    ``outside`` is ``"left"``/``"right"`` when the span lies wholly outside the view (then
    ``start == end``, at the edge it lies beyond), else None. ``clipped_left``/``clipped_right``
    say the span continues past that edge. A visible span always gets at least one column.
    """

    start: int
    end: int
    clipped_left: bool = False
    clipped_right: bool = False
    outside: str | None = None

    @property
    def visible(self) -> bool:
        return self.outside is None


def layout_bar(start_ns: int, end_ns: int, width: int, t0: int, t1: int) -> Bar:
    """The bar of ``[start_ns, end_ns]`` on a ``width``-column axis showing ``[t0, t1]``."""
    if width < 1:
        return Bar(0, 0, outside="right")
    end_ns = max(end_ns, start_ns)
    if end_ns < t0 or (end_ns == t0 and start_ns < t0):
        return Bar(0, 0, clipped_left=True, outside="left")
    if start_ns > t1:
        return Bar(width, width, clipped_right=True, outside="right")
    scale = width / max(t1 - t0, 1)
    left = start_ns < t0
    right = end_ns > t1
    a = 0 if left else min(int((start_ns - t0) * scale), width - 1)
    b = width if right else min(math.ceil((end_ns - t0) * scale), width)
    if b <= a:
        b = a + 1
    return Bar(a, b, left, right)


def ruler(width: int, t0: int, t1: int, *, origin: int | None = None, min_gap: int = 10) -> list[tuple[int, str]]:
    """Tick marks for the time axis: ``(column, label)`` with "nice" steps (1/2/5 × 10^k),
    labels relative to ``origin`` (default ``t0``, the trace start), at least ``min_gap``
    columns apart."""
    span = max(t1 - t0, 1)
    origin = t0 if origin is None else origin
    if width < 1:
        return []
    max_ticks = max(width // max(min_gap, 1), 1)
    raw = span / max_ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), 10 * magnitude)
    step = max(int(step), 1)
    first = math.ceil((t0 - origin) / step) * step + origin
    ticks = []
    t = first
    while t <= t1:
        col = min(int((t - t0) * width / span), width - 1)
        ticks.append((col, format_duration_ns(t - origin) if t != origin else "0"))
        t += step
    return ticks


# ------------------------------------------------------------------------------- tree --
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


class CriticalSection(NamedTuple):
    """A stretch of the critical path: node ``node`` was the bottleneck from start to end."""

    node: int
    start_ns: int
    end_ns: int


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


class Waterfall:
    """The span tree of one trace plus the view state (collapsed nodes, zoom window).

    The tree is kept as parallel lists indexed by pre-order position (``spans``, ``depth``,
    ``parent``, ``end``, ``self_ns``, ``subtree_errors``, ``color``): a 10,000-span trace then
    costs a dozen lists instead of tens of thousands of objects for the garbage collector to
    walk. :meth:`node` gives a convenient view of one entry.
    """

    def __init__(self, trace: Trace, *, palette_size: int = DEFAULT_PALETTE_SIZE) -> None:
        self.trace = trace
        self.start_ns = trace.start_ns
        self.end_ns = max(trace.end_ns, self.start_ns)
        self.view: tuple[int, int] = (self.start_ns, self.end_ns)
        self.collapsed: set[int] = set()
        self.colors = assign_service_colors({s.service for s in trace.spans}, palette_size)
        self.spans: list[Span] = []
        self.depth: list[int] = []
        self.parent: list[int] = []
        self.end: list[int] = []
        self.self_ns: list[int] = []
        self.subtree_errors: list[int] = []
        self.color: list[int] = []
        self.roots: list[int] = []
        self.orphans: set[int] = set()
        self.critical: set[int] = set()
        self.critical_path: list[CriticalSection] = []
        self._critical_by_node: dict[int, list[tuple[int, int]]] = {}
        self._visible: list[int] | None = None
        self._haystacks: list[str] | None = None
        self._build(trace.spans)
        self._compute_critical_path()

    def __len__(self) -> int:
        return len(self.spans)

    # ------------------------------------------------------------------ building --
    def _build(self, spans: list[Span]) -> None:
        n = len(spans)
        by_id: dict[str, int] = {}
        for i, sp in enumerate(spans):
            by_id.setdefault(sp.span_id, i)
        # Parent span index per span; -1 at the top (root, or orphan whose parent is missing).
        pidx = [-1] * n
        orphan_span = bytearray(n)
        for i, sp in enumerate(spans):
            if sp.parent_id is not None:
                p = by_id.get(sp.parent_id, -1)
                if p == -1 or p == i:
                    orphan_span[i] = 1
                else:
                    pidx[i] = p
        # Children of each span in start order, as one flat array (CSR): children of span p
        # are kids[first[p]:first[p + 1]].
        # Two stable sorts on int keys (start, then end, then arrival): no key tuples to allocate.
        order = sorted(range(n), key=[sp.end_ns for sp in spans].__getitem__)
        order.sort(key=[sp.start_ns for sp in spans].__getitem__)
        first = [0] * (n + 1)
        for i in range(n):
            if pidx[i] >= 0:
                first[pidx[i] + 1] += 1
        for p in range(n):
            first[p + 1] += first[p]
        fill = first[:n]
        kids = [0] * first[n]
        top: list[int] = []
        for i in order:
            p = pidx[i]
            if p < 0:
                top.append(i)
            else:
                kids[fill[p]] = i
                fill[p] += 1

        out_spans, depth, parent, colors = self.spans, self.depth, self.parent, self.color
        svc_color = self.colors
        node_of = [-1] * n
        placed = bytearray(n)

        def walk(start: int, as_orphan: bool) -> None:
            # Iterative pre-order DFS over span indices; children pushed in reverse start order.
            stack = [start]
            while stack:
                si = stack.pop()
                if placed[si]:
                    continue
                placed[si] = 1
                k = len(out_spans)
                node_of[si] = k
                p = pidx[si]
                pn = node_of[p] if p >= 0 and si != start else -1
                sp = spans[si]
                out_spans.append(sp)
                parent.append(pn)
                depth.append(depth[pn] + 1 if pn >= 0 else 0)
                colors.append(svc_color.get(sp.service, 0))
                if pn < 0:
                    self.roots.append(k)
                    if as_orphan:
                        self.orphans.add(k)
                for j in range(first[si + 1] - 1, first[si] - 1, -1):
                    c = kids[j]
                    if not placed[c]:
                        stack.append(c)

        for si in top:
            walk(si, bool(orphan_span[si]))
        if len(out_spans) < n:
            # Spans reachable only through a parent cycle: each remaining one becomes a root.
            for si in order:
                if not placed[si]:
                    walk(si, True)

        # Subtree ends and error counts bottom-up (reverse pre-order), then self times.
        end = self.end
        end.extend(range(1, n + 1))
        errs = [0] * n
        for k in range(n - 1, -1, -1):
            pn = parent[k]
            if pn >= 0:
                end[pn] = max(end[pn], end[k])
                errs[pn] += errs[k] + (1 if out_spans[k].status == "error" else 0)
        self.subtree_errors = errs
        self.self_ns = [
            self._self_time(k) if end[k] > k + 1 else out_spans[k].duration_ns for k in range(n)
        ]

    def children(self, node: int) -> list[int]:
        """Child node indices of ``node``, in start order."""
        out = []
        c, stop, end = node + 1, self.end[node], self.end
        while c < stop:
            out.append(c)
            c = end[c]
        return out

    def _self_time(self, k: int) -> int:
        """The span's duration not covered by any child (children clipped to the span)."""
        sp = self.spans[k]
        start = sp.start_ns
        stop = max(start, sp.end_ns)
        end, spans = self.end, self.spans
        c, last = k + 1, end[k]
        if c == last:
            return stop - start
        covered = 0
        cur_a = cur_b = -1
        while c < last:  # children in start order
            cs = spans[c]
            a = max(start, cs.start_ns)
            b = min(stop, cs.end_ns)
            c = end[c]
            if b <= a:
                continue
            if cur_b < 0 or a > cur_b:
                if cur_b >= 0:
                    covered += cur_b - cur_a
                cur_a, cur_b = a, b
            elif b > cur_b:
                cur_b = b
        if cur_b >= 0:
            covered += cur_b - cur_a
        return stop - start - covered

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

    def has_children(self, k: int) -> bool:
        return self.end[k] > k + 1

    def error_nodes(self) -> list[int]:
        """Node indices of the error spans, top to bottom (for "next error" navigation)."""
        return [k for k, sp in enumerate(self.spans) if sp.status == "error"]

    # ------------------------------------------------------------- critical path --
    def _compute_critical_path(self) -> None:
        """Classic critical path from the main root (see module doc), iteratively."""
        spans, end, parent = self.spans, self.end, self.parent
        if not spans:
            return
        root = self.main_root()
        # Clip each span to its (clipped) parent; cs > ce marks one wholly outside its parent.
        n = len(spans)
        cs = [0] * n
        ce = [-1] * n
        rs = spans[root]
        cs[root], ce[root] = rs.start_ns, max(rs.end_ns, rs.start_ns)
        for i in range(root + 1, end[root]):
            p = parent[i]
            ps, pe = cs[p], ce[p]
            sp = spans[i]
            s, e = sp.start_ns, sp.end_ns
            e = max(e, s)
            if pe < ps or e < ps or s > pe:
                continue  # stays cs=0 > ce=-1: not on any path
            cs[i] = max(ps, s)
            ce[i] = min(pe, e)
        by_end: dict[int, list[int]] = {}
        pointer: dict[int, int] = {}

        def candidates(i: int) -> list[int]:
            lst = by_end.get(i)
            if lst is None:
                lst = [c for c in self.children(i) if ce[c] > cs[c]]  # zero-length carry no time
                lst.sort(key=lambda c: (ce[c], cs[c]), reverse=True)
                by_end[i] = lst
                pointer[i] = 0
            return lst

        sections: list[CriticalSection] = []
        current, bound = root, ce[root]
        while True:
            lst = candidates(current)
            k = pointer[current]
            chosen = -1
            while k < len(lst):
                c = lst[k]
                k += 1
                if ce[c] <= bound:
                    chosen = c
                    break
            pointer[current] = k
            cur_start = cs[current]
            if chosen >= 0 and ce[chosen] > cur_start:
                c_end = ce[chosen]
                if c_end < bound:
                    sections.append(CriticalSection(current, c_end, bound))
                current, bound = chosen, c_end
                continue
            if bound > cur_start:
                sections.append(CriticalSection(current, cur_start, bound))
            if current == root:
                break
            current, bound = parent[current], cur_start
        sections.reverse()
        self.critical_path = sections
        by_node = self._critical_by_node
        for sec in sections:
            by_node.setdefault(sec.node, []).append((sec.start_ns, sec.end_ns))
        self.critical = set(by_node)

    def main_root(self) -> int:
        """The root the critical path starts from: the longest real root (no parent id),
        else the longest root-level span."""
        best, key = 0, None
        for r in self.roots:
            k = (r not in self.orphans, self.spans[r].duration_ns, -r)
            if key is None or k > key:
                best, key = r, k
        return best

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
                    critical_cols=_section_cols(self._critical_by_node[i], width, t0, t1) if critical else (),
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
            hay = []
            for sp in self.spans:
                parts = [sp.name, sp.service, sp.span_id, sp.status_message]
                for k, v in sp.attributes:
                    parts.append(f"{k}={v}")
                for ev in sp.events:
                    parts.append(ev.name)
                    parts.extend(v for _, v in ev.attributes)
                hay.append("\x00".join(parts).casefold())
            self._haystacks = hay
        return self._haystacks

    def find(self, query: str) -> list[int]:
        """Node indices (tree order) whose name, service, span id, status message, attributes
        (``key=value``) or events contain ``query``, case-insensitively. Hidden nodes included."""
        q = query.casefold()
        if not q:
            return []
        return [i for i, h in enumerate(self._haystack()) if q in h]

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


def _section_cols(sections: list[tuple[int, int]], width: int, t0: int, t1: int) -> tuple[tuple[int, int], ...]:
    """Critical sections as column ranges, rounded (a section under half a column shows no
    cells; adjacent ones are merged)."""
    scale = width / max(t1 - t0, 1)
    out: list[tuple[int, int]] = []
    for a, e in sorted(sections):
        ca = max(0, min(width, round((a - t0) * scale)))
        cb = max(0, min(width, round((e - t0) * scale)))
        if cb <= ca:
            continue
        if out and ca <= out[-1][1]:
            out[-1] = (out[-1][0], max(cb, out[-1][1]))
        else:
            out.append((ca, cb))
    return tuple(out)


# --------------------------------------------------------------------- display text --
def span_label(span: Span, *, max_chars: int = 200) -> str:
    """``service  name`` for a row, sanitised (control characters visible, no markup meaning
    beyond plain text: hand it to widgets as ``Text``/``Content``)."""
    return sanitize_for_display(f"{span.service}  {span.name}", max_chars=max_chars)


def span_details(span: Span, *, max_chars: int = MAX_LABEL_VALUE) -> list[tuple[str, str]]:
    """The detail pane of a span as sanitised ``(label, value)`` pairs: ids, timing, status,
    attributes, resource, events (exception type/message/stacktrace, the stacktrace keeping its
    newlines) and links."""

    def clean(text: str, *, multiline: bool = False, cap: int = max_chars) -> str:
        return sanitize_for_display(text, multiline=multiline, max_chars=cap)

    out: list[tuple[str, str]] = [
        ("service", clean(span.service)),
        ("name", clean(span.name)),
        ("kind", span.kind),
        ("duration", format_duration_ns(span.duration_ns)),
        ("status", span.status + (f": {clean(span.status_message)}" if span.status_message else "")),
        ("trace id", span.trace_id),
        ("span id", span.span_id),
        ("parent id", span.parent_id or "–"),
    ]
    out += [(f"attr {clean(k, cap=200)}", clean(v)) for k, v in sorted(span.attributes)]
    out += [(f"resource {clean(k, cap=200)}", clean(v)) for k, v in sorted(span.resource)]
    for ev in span.events:
        offset = format_duration_ns(ev.time_ns - span.start_ns) if ev.time_ns >= span.start_ns else "before start"
        out.append((f"event +{offset}", clean(ev.name)))
        for k, v in ev.attributes:
            multiline = k == "exception.stacktrace"
            out.append((f"  {clean(k, cap=200)}", clean(v, multiline=multiline, cap=16 * 1024 if multiline else max_chars)))
    for ln in span.links:
        reason = next((v for k, v in ln.attributes if k == "link.reason"), "")
        out.append(("link", f"{ln.trace_id}/{ln.span_id}" + (f" ({clean(reason)})" if reason else "")))
    return out
