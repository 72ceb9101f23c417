"""Compact number formatting for narrow table cells (values from Prometheus may be NaN/None)."""

from __future__ import annotations

import math

MISSING = "–"


def _bad(value: float | None) -> bool:
    return value is None or math.isnan(value)


def rate(value: float | None) -> str:
    """Requests per second: ``0.42``, ``4.2``, ``42``, ``4.2k``."""
    if _bad(value):
        return MISSING
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
    if _bad(value):
        return MISSING
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
    if _bad(value):
        return MISSING
    assert value is not None
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
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
    if _bad(value):
        return MISSING
    assert value is not None
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def burn(value: float | None) -> str:
    """An SLO burn rate: ``0.3x``, ``14x``."""
    if _bad(value):
        return MISSING
    assert value is not None
    return f"{value:.1f}x" if value < 10 else f"{value:.0f}x"
