"""Unicode sparklines for table cells: ``▁▂▃▅▇`` over a series, NaN/missing as a space."""

from __future__ import annotations

import math
from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(
    values: Sequence[float | None],
    width: int,
    *,
    flat: float = 0.05,
    scale: tuple[float, float] | None = None,
) -> str:
    """``width`` characters summarising ``values`` (max per bucket, so spikes stay visible).

    Without ``scale`` the bars run from the series' minimum to its maximum, and a series that
    varies by less than ``flat`` (relative to its largest value) is drawn flat at the bottom, so
    noise does not look like a trend. With ``scale=(low, high)`` the bars run from ``low`` to at
    least ``high`` (e.g. 0 to the alert threshold): a full bar then means "at the threshold".
    """
    if width <= 0:
        return ""
    clean = [None if v is None or math.isnan(v) or math.isinf(v) else v for v in values]
    if not clean:
        return " " * width
    buckets: list[float | None] = []
    n = len(clean)
    for i in range(width):
        lo = i * n // width
        hi = max((i + 1) * n // width, lo + 1)
        chunk = [v for v in clean[lo:hi] if v is not None]
        buckets.append(max(chunk) if chunk else None)
    present = [b for b in buckets if b is not None]
    if not present:
        return " " * width
    if scale is not None:
        low, high = scale[0], max(scale[1], max(present))
        span = high - low
    else:
        low, high = min(present), max(present)
        span = high - low
        if span <= flat * max(abs(high), abs(low)):
            span = 0.0
    out = []
    for b in buckets:
        if b is None:
            out.append(" ")
        elif span <= 0:
            out.append(BARS[0])
        else:
            idx = int((b - low) / span * (len(BARS) - 1) + 0.5)
            out.append(BARS[min(max(idx, 0), len(BARS) - 1)])
    return "".join(out)
