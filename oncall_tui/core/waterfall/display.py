"""How spans are shown: duration text (:func:`format_duration_ns`), a stable colour slot per
service (:func:`assign_service_colors`), the row label and the detail pane.

Display helpers return text made safe by :func:`sanitize_for_display`; the model keeps the raw
values.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable

from oncall_tui.models.tempo.trace import Span
from oncall_tui.text.sanitize import MAX_LABEL_VALUE, sanitize_for_display

__all__ = [
    "DEFAULT_PALETTE_SIZE",
    "assign_service_colors",
    "format_duration_ns",
    "span_details",
    "span_label",
]

DEFAULT_PALETTE_SIZE = 8


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
