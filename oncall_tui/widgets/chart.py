"""Line charts as plain text with plotext (<6), kept behind this one function.

plotext's own colour codes are stripped: the chart is shown as inert text in the theme's
foreground colour, and the lines are told apart by their markers and the legend.

Annotation markers (Grafana annotations, timeline notes and actions) are vertical lines
numbered at the top; :func:`marker_legend` lists them under the same numbers.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.core.triage import format_age
from oncall_tui.models.grafana import ChartMarker

#: Plain characters: braille/block markers render with uneven widths in many fonts.
MARKERS = ("•", "+", "x", "o")
#: Labels of the vertical annotation markers, in order.
MARKER_LABELS = "123456789"
MAX_MARKERS = len(MARKER_LABELS)
SOURCE_NAMES = {"grafana": "Grafana", "note": "note", "action": "action"}


def marker_x(times: Sequence[float], at: float) -> float | None:
    """Where ``at`` (Unix seconds) falls on an x axis whose point ``i`` is at ``times[i]``:
    a fractional index, or None when more than one step outside ``[times[0], times[-1]]``
    (within one step it sits on the edge: a note taken since the last point still shows)."""
    if len(times) < 2:
        return None
    if at < times[0]:
        return 0.0 if times[0] - at <= times[1] - times[0] else None
    if at > times[-1]:
        return float(len(times) - 1) if at - times[-1] <= times[-1] - times[-2] else None
    i = bisect.bisect_right(times, at) - 1
    if i >= len(times) - 1:
        return float(len(times) - 1)
    span = times[i + 1] - times[i]
    return i + ((at - times[i]) / span if span > 0 else 0.0)


def render_chart(
    series: Mapping[str, Sequence[float]],
    *,
    width: int,
    height: int,
    title: str = "",
    times: Sequence[float] | None = None,
    markers: Sequence[float] = (),
) -> str:
    """A ``width`` × ``height`` chart of one or more series sharing an x axis (oldest → newest).

    ``times`` are the Unix times of the x points (index ``i`` at ``times[i]``); ``markers``
    are Unix times drawn as vertical lines labelled 1, 2, … (at most :data:`MAX_MARKERS`,
    the newest kept; those outside the x range are left out, keeping their numbers).
    """
    import plotext as plt  # only the detail view draws charts: keep it off the start-up path

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.title(sanitize_for_display(title, max_chars=200))
    drawn = False
    top = -math.inf
    for (label, values), marker in zip(series.items(), MARKERS, strict=False):
        points = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        plt.plot(list(xs), list(ys), label=sanitize_for_display(label, max_chars=40), marker=marker)
        top = max(top, *ys)
        drawn = True
    if not drawn:
        return f"{sanitize_for_display(title, max_chars=200)}\n  (no data in this range)"
    if times:
        placed = [
            (label, x)
            for label, at in zip(MARKER_LABELS, list(markers)[-MAX_MARKERS:], strict=False)
            if (x := marker_x(times, at)) is not None
        ]
        if placed:
            # Two spare columns on the right, so a marker at the newest point is not
            # mistaken for the frame.
            last = max(len(times), *(len(v) for v in series.values())) - 1
            plt.xlim(0, last * (1 + 2 / max(width - 8, 10)))
        for label, x in placed:
            plt.vline(x)
            plt.text(label, x, top)
    plt.xticks([])
    return plt.uncolorize(plt.build())


def marker_legend(
    markers: Sequence[ChartMarker], *, now: float, older: int = 0, max_chars: int = 160
) -> str:
    """One inert line per marker, numbered as on the charts: ``1 14:06:00Z (14m ago) Grafana: text``.

    Texts are sanitised (control and bidi characters made visible) and cut to ``max_chars``.
    """
    lines = []
    for label, m in zip(MARKER_LABELS, list(markers)[-MAX_MARKERS:], strict=False):
        when = datetime.fromtimestamp(m.at, UTC).strftime("%H:%M:%SZ")
        text = sanitize_for_display(m.text, max_chars=max_chars)
        source = SOURCE_NAMES.get(m.source, m.source)
        lines.append(f"{label} {when} ({format_age(max(now - m.at, 0.0))} ago) {source}: {text}")
    if older:
        lines.append(f"  +{older} earlier not shown")
    return "\n".join(lines)
