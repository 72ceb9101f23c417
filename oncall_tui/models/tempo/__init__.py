"""Tempo API responses as flat, fast Python objects (no pydantic per span; no Textual, no httpx).

One module per concept:

- :mod:`.values`: how Tempo's JSON encodes values (OTLP ``AnyValue`` attributes, 64-bit
  decimal strings) and :class:`TempoFormatError`;
- :mod:`.ids`: trace/span ids in any spelling (hex, base64) → lowercase hex;
- :mod:`.trace`: the trace model (:class:`Trace`, :class:`Span`, events, links);
- :mod:`.decode`: trace bodies (v1, v2, plain OTLP, the LLM shape) → :class:`Trace`;
- :mod:`.search`, :mod:`.tags`, :mod:`.metrics`: the search, tag and TraceQL-metrics APIs.

Values stay **raw** (an attribute may hold an escape sequence): display code sanitises them
(``oncall_tui.core.waterfall`` has the helpers). Code in this repository imports from the
precise module; the names below are re-exported for compatibility.
"""

from oncall_tui.models.tempo.decode import parse_trace
from oncall_tui.models.tempo.ids import (
    InvalidTraceId,
    id_to_hex,
    normalize_span_id,
    normalize_trace_id,
)
from oncall_tui.models.tempo.metrics import MetricSeries, parse_metrics
from oncall_tui.models.tempo.search import (
    MatchedSpan,
    SearchMetrics,
    SearchResult,
    ServiceStats,
    SpanSet,
    TraceSummary,
    parse_search,
)
from oncall_tui.models.tempo.tags import (
    UNSCOPED,
    TagValue,
    parse_tag_names,
    parse_tag_values,
)
from oncall_tui.models.tempo.trace import (
    UNKNOWN_SERVICE,
    Span,
    SpanEvent,
    SpanLink,
    StatusCode,
    Trace,
)
from oncall_tui.models.tempo.values import Attrs, TempoFormatError, attribute_text

__all__ = [
    "UNKNOWN_SERVICE",
    "UNSCOPED",
    "Attrs",
    "InvalidTraceId",
    "MatchedSpan",
    "MetricSeries",
    "SearchMetrics",
    "SearchResult",
    "ServiceStats",
    "Span",
    "SpanEvent",
    "SpanLink",
    "SpanSet",
    "StatusCode",
    "TagValue",
    "TempoFormatError",
    "Trace",
    "TraceSummary",
    "attribute_text",
    "id_to_hex",
    "normalize_span_id",
    "normalize_trace_id",
    "parse_metrics",
    "parse_search",
    "parse_tag_names",
    "parse_tag_values",
    "parse_trace",
]
