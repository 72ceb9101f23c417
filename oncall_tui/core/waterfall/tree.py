"""The span tree of one trace (:class:`SpanTree`), built for big traces.

One pass lays the tree out in pre-order as parallel lists (a node's subtree is the contiguous
slice ``[k, end[k])``), so the visible-row list, the collapse operations and the window the UI
paints are simple index walks, and a 10,000-span trace is a dozen lists rather than tens of
thousands of objects for the garbage collector. Every walk is iterative: a 10,000-deep chain must
not hit Python's recursion limit.

- Spans whose parent is missing (not received yet, or filtered out) and spans caught in a
  parent cycle sit at the root level, marked (``orphans``).
- Children are ordered by start time (ties: end time, then arrival order).
"""

from __future__ import annotations

from oncall_tui.core.waterfall.display import (
    DEFAULT_PALETTE_SIZE,
    assign_service_colors,
)
from oncall_tui.models.tempo.trace import Span, Trace

__all__ = ["NO_PARENT", "SpanTree"]

NO_PARENT = -1


class SpanTree:
    """The span tree of one trace as parallel lists indexed by pre-order position (``spans``,
    ``depth``, ``parent``, ``end``, ``self_ns``, ``subtree_errors``, ``color``), with the
    service colours, roots and orphans."""

    def __init__(self, trace: Trace, *, palette_size: int = DEFAULT_PALETTE_SIZE) -> None:
        self.trace = trace
        self.start_ns = trace.start_ns
        self.end_ns = max(trace.end_ns, self.start_ns)
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
        self._build(trace.spans)

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

    def has_children(self, k: int) -> bool:
        return self.end[k] > k + 1

    def error_nodes(self) -> list[int]:
        """Node indices of the error spans, top to bottom (for "next error" navigation)."""
        return [k for k, sp in enumerate(self.spans) if sp.status == "error"]

    def main_root(self) -> int:
        """The root the critical path starts from: the longest real root (no parent id),
        else the longest root-level span."""
        best, key = 0, None
        for r in self.roots:
            k = (r not in self.orphans, self.spans[r].duration_ns, -r)
            if key is None or k > key:
                best, key = r, k
        return best
