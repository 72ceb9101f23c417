"""Compact number formatting for narrow table cells.

Values from Prometheus may be None (no series), NaN, +Inf or -Inf (a sample of ``"-Inf"`` is
legal): None shows as ``–``, the others as ``NaN``/``+Inf``/``-Inf``, never as an exception.
"""

from __future__ import annotations

import math

MISSING = "–"


def _special(value: float | None) -> str | None:
    """The cell for a value that is not an ordinary finite number, or None if it is one."""
    if value is None:
        return MISSING
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if abs(value) >= 1e9:  # no cell is wide enough for all the digits
        return f"{value:.0e}"
    return None


def rate(value: float | None) -> str:
    """Requests per second: ``0.42``, ``4.2``, ``42``, ``4.2k``."""
    if (special := _special(value)) is not None:
        return special
    assert value is not None
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percent(value: float | None) -> str:
    """A 0–1 ratio as ``0.04%``, ``8.5%``, ``97%``."""
    if (special := _special(value)) is not None:
        return special
    assert value is not None
    pct = value * 100
    if pct == 0:
        return "0%"
    if pct < 0.1:
        return f"{pct:.2f}%"
    if pct < 10:
        return f"{pct:.1f}%"
    return f"{pct:.0f}%"


def seconds(value: float | None) -> str:
    """A latency: ``850µs``, ``46ms``, ``1.7s``, ``2m05``."""
    if (special := _special(value)) is not None:
        return special
    assert value is not None
    if value < 0.001:
        return f"{value * 1e6:.0f}µs"
    if value < 1:
        return f"{value * 1000:.0f}ms"
    if value < 60:
        return f"{value:.1f}s"
    return f"{int(value // 60)}m{int(value % 60):02d}"


def saturation(value: float | None, unit: str) -> str:
    """Saturation in the service's own unit: KV cache/ratio as %, queue/in-flight as a count."""
    if unit in ("kv-cache", "ratio"):
        return percent(value)
    if (special := _special(value)) is not None:
        return special
    assert value is not None
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def burn(value: float | None) -> str:
    """An SLO burn rate: ``0.3x``, ``14x``."""
    if (special := _special(value)) is not None:
        return special
    assert value is not None
    return f"{value:.1f}x" if value < 10 else f"{value:.0f}x"
