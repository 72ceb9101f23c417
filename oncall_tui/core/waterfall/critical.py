"""The critical path of a span tree (:func:`critical_path`), the classic one (as in Jaeger).

From the root, repeatedly take the last-finishing child that ends before the point reached so
far, descend into it, and come back up to the time it started. Children are first clipped to
their parent (a child that outlives its parent counts only up to the parent's end); overlapping
siblings that end after the point reached are not on the path. The sections (span, start, end)
cover the root's duration exactly.
"""

from __future__ import annotations

from typing import NamedTuple

from oncall_tui.core.waterfall.tree import SpanTree

__all__ = ["CriticalSection", "critical_path"]


class CriticalSection(NamedTuple):
    """A stretch of the critical path: node ``node`` was the bottleneck from start to end."""

    node: int
    start_ns: int
    end_ns: int


def critical_path(tree: SpanTree) -> list[CriticalSection]:
    """Classic critical path from the main root (see module doc), iteratively; in time order."""
    spans, end, parent = tree.spans, tree.end, tree.parent
    if not spans:
        return []
    root = tree.main_root()
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
            lst = [c for c in tree.children(i) if ce[c] > cs[c]]  # zero-length carry no time
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
    return sections
