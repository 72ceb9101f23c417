"""Log drill-down logic, UI-free, one module per concept:

- :mod:`.logql`: LogQL string literals, stream selectors from alert labels, line filters;
- :mod:`.conventions`: how a Loki names services and pods (classic and OpenTelemetry labels),
  what a session learned (:class:`LogConventions`), the trace → logs query;
- :mod:`.window`: the time window of an alert's logs;
- :mod:`.fields`: a raw line's JSON/logfmt fields, ANSI escapes;
- :mod:`.levels`: a line's level (labels, metadata, OTel severity, the text);
- :mod:`.traceids`: trace ids in log lines;
- :mod:`.patterns`: line shapes and pattern groups;
- :mod:`.guidance`: what to do about a query Loki rejected;
- :mod:`.buffer`: the bounded, filterable :class:`LogBuffer`.

Everything here takes raw values (as :mod:`oncall_tui.models.loki` keeps them) and never
raises on hostile log lines: odd input gives ``None``/``"unknown"``, not an exception. Text
meant for the screen goes through :func:`display_line` / :func:`sanitize_for_display`.
Code in this repository imports from the precise module; the names below are re-exported for
compatibility.
"""

from oncall_tui.core.logs.buffer import (
    MAX_FILTER_CHARS,
    LogBuffer,
    display_line,
)
from oncall_tui.core.logs.conventions import (
    POD_LABELS,
    SERVICE_LABELS,
    SOURCE_LABELS,
    LogConventions,
    pod_label,
    service_label,
    stream_source,
    trace_logs_logql,
)
from oncall_tui.core.logs.fields import (
    ANSI_ESCAPE,
    MAX_FIELDS_LINE,
    json_object,
    parse_fields,
    parse_logfmt,
)
from oncall_tui.core.logs.guidance import (
    guidance_for,
)
from oncall_tui.core.logs.levels import (
    LEVELS,
    detect_level,
    entry_level,
    normalize_level,
    otel_severity_level,
)
from oncall_tui.core.logs.logql import (
    DEFAULT_LABEL_MAP,
    add_line_filter,
    build_logql,
    logql_quote,
)
from oncall_tui.core.logs.patterns import (
    PatternGroup,
    group_patterns,
    line_shape,
)
from oncall_tui.core.logs.traceids import (
    DEFAULT_TRACE_ID_RE,
    TRACE_ID_KEYS,
    entry_trace_id,
    extract_trace_id,
    normalize_trace_id,
)
from oncall_tui.core.logs.window import (
    alert_window,
)

__all__ = [
    "ANSI_ESCAPE",
    "DEFAULT_LABEL_MAP",
    "DEFAULT_TRACE_ID_RE",
    "LEVELS",
    "MAX_FIELDS_LINE",
    "MAX_FILTER_CHARS",
    "POD_LABELS",
    "SERVICE_LABELS",
    "SOURCE_LABELS",
    "TRACE_ID_KEYS",
    "LogBuffer",
    "LogConventions",
    "PatternGroup",
    "add_line_filter",
    "alert_window",
    "build_logql",
    "detect_level",
    "display_line",
    "entry_level",
    "entry_trace_id",
    "extract_trace_id",
    "group_patterns",
    "guidance_for",
    "json_object",
    "line_shape",
    "logql_quote",
    "normalize_level",
    "normalize_trace_id",
    "otel_severity_level",
    "parse_fields",
    "parse_logfmt",
    "pod_label",
    "service_label",
    "stream_source",
    "trace_logs_logql",
]
