"""Line charts as plain text with plotext (<6), kept behind this one function.

plotext's own colour codes are stripped: the chart is shown as inert text in the theme's
foreground colour, and the lines are told apart by their markers and the legend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from oncall_tui.core.sanitize import sanitize_for_display

#: Plain characters: braille/block markers render with uneven widths in many fonts.
MARKERS = ("•", "+", "x", "o")


def render_chart(series: Mapping[str, Sequence[float]], *, width: int, height: int, title: str = "") -> str:
    """A ``width`` × ``height`` chart of one or more series sharing an x axis (oldest → newest)."""
    import plotext as plt  # only the detail view draws charts: keep it off the start-up path

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.title(sanitize_for_display(title, max_chars=200))
    drawn = False
    for (label, values), marker in zip(series.items(), MARKERS, strict=False):
        points = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        plt.plot(list(xs), list(ys), label=sanitize_for_display(label, max_chars=40), marker=marker)
        drawn = True
    if not drawn:
        return f"{sanitize_for_display(title, max_chars=200)}\n  (no data in this range)"
    plt.xticks([])
    return plt.uncolorize(plt.build())
