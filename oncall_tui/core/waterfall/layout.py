"""Bars and the time axis: where a span's bar goes in a ``width``-column track showing a time
window (:func:`layout_bar`), the axis ticks (:func:`ruler`), critical sections as columns
(:func:`section_cols`).

Bars are laid out in ``[0, width)`` columns on the trace's time axis or a zoomed slice; spans
outside the slice are marked, partly outside ones clipped and marked.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from oncall_tui.core.waterfall.display import format_duration_ns

__all__ = ["Bar", "layout_bar", "ruler", "section_cols"]


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


def section_cols(sections: list[tuple[int, int]], width: int, t0: int, t1: int) -> tuple[tuple[int, int], ...]:
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
