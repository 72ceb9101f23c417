"""Trace waterfall logic, pure (no Textual, no httpx), one module per concept:

- :mod:`.tree`: the span tree of one trace as parallel pre-order lists (:class:`SpanTree`);
- :mod:`.critical`: its critical path (:func:`critical_path`);
- :mod:`.layout`: bars on a time axis, ruler ticks;
- :mod:`.search`: the text a span is found by;
- :mod:`.display`: duration text, service colours, row labels, the detail pane (sanitised);
- :mod:`.view`: :class:`Waterfall`, the tree plus collapse state, zoom and the painted rows.

Code in this repository imports from the precise module; the names below are re-exported for
compatibility.
"""

from oncall_tui.core.waterfall.critical import CriticalSection, critical_path
from oncall_tui.core.waterfall.display import (
    DEFAULT_PALETTE_SIZE,
    assign_service_colors,
    format_duration_ns,
    span_details,
    span_label,
)
from oncall_tui.core.waterfall.layout import Bar, layout_bar, ruler
from oncall_tui.core.waterfall.tree import NO_PARENT, SpanTree
from oncall_tui.core.waterfall.view import Node, Row, Waterfall

__all__ = [
    "DEFAULT_PALETTE_SIZE",
    "NO_PARENT",
    "Bar",
    "CriticalSection",
    "Node",
    "Row",
    "SpanTree",
    "Waterfall",
    "assign_service_colors",
    "critical_path",
    "format_duration_ns",
    "layout_bar",
    "ruler",
    "span_details",
    "span_label",
]
