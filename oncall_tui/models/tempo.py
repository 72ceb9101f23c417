"""Tempo API responses as flat, fast Python objects (no pydantic per span; no Textual, no httpx).

A 10,000-span trace has to be parsed and laid out in well under 200 ms, so spans are plain
``__slots__`` dataclasses filled by direct dict access. Shapes and quirks follow the recorded
responses in ``shared/fixtures/tempo`` (see its README):

- ``GET /api/traces/{id}`` (v1) → ``{"batches": [...]}``; ``GET /api/v2/traces/{id}`` →
  ``{"trace": {"resourceSpans": [...]}, "metrics": ...}``; an unknown id is a v1 404 with an
  empty body but a v2 **200** with ``{"trace": {}}`` (:func:`parse_trace` returns an empty
  :class:`Trace`; the client turns that into ``NotFound``).
- Ids inside trace JSON are **base64** (protobuf-JSON bytes); search results use **hex** and
  strip leading zeros from trace ids. Everything here is normalised to lowercase hex, trace ids
  to 32 characters, span ids to 16.
- 64-bit numbers come as decimal strings; enums as strings (``SPAN_KIND_SERVER``,
  ``STATUS_CODE_ERROR``) or, from other encoders, as integers; an unset status is ``{}``;
  zero/empty fields are omitted.

Values stay **raw** (an attribute may hold an escape sequence): display code sanitises them
(``oncall_tui.core.waterfall`` has the helpers). A body that does not have the documented shape
raises :class:`TempoFormatError` (a ``ValueError``) that says where, never a bare ``KeyError``;
messages name fields, never echo values.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

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

StatusCode = Literal["unset", "ok", "error"]
#: ``(key, value as display string)`` pairs, in the order the server sent them (Tempo reorders).
Attrs = list[tuple[str, str]]

#: Service name when a resource has no ``service.name`` (the OpenTelemetry convention).
UNKNOWN_SERVICE = "unknown_service"
#: Scope key :func:`parse_tag_names` uses for v1's unscoped ``tagNames`` list.
UNSCOPED = "unscoped"

_KINDS = {
    "SPAN_KIND_UNSPECIFIED": "unspecified",
    "SPAN_KIND_INTERNAL": "internal",
    "SPAN_KIND_SERVER": "server",
    "SPAN_KIND_CLIENT": "client",
    "SPAN_KIND_PRODUCER": "producer",
    "SPAN_KIND_CONSUMER": "consumer",
    0: "unspecified",
    1: "internal",
    2: "server",
    3: "client",
    4: "producer",
    5: "consumer",
}
_STATUSES: dict[Any, StatusCode] = {
    "STATUS_CODE_UNSET": "unset",
    "STATUS_CODE_OK": "ok",
    "STATUS_CODE_ERROR": "error",
    0: "unset",
    1: "ok",
    2: "error",
}
_HEX_ANY_CASE = re.compile(r"[0-9a-fA-F]+")


class TempoFormatError(ValueError):
    """A Tempo response did not have the documented shape (the message says where)."""


class InvalidTraceId(ValueError):
    """A string that is neither a hex nor a base64 trace id."""


# ---------------------------------------------------------------------------- ids --
_URLSAFE = str.maketrans("-_", "+/")


def id_to_hex(value: str, width: int) -> str:
    """An id as Tempo sends it (base64 in trace JSON, hex elsewhere) → lowercase hex, ``width`` chars.

    Hex may have its leading zeros stripped (search results do that). Base64 (standard or
    URL-safe, padded or not) must decode to exactly ``width / 2`` bytes, or 8 for a 64-bit
    trace id. Raises ``ValueError`` for anything else.
    """
    if not isinstance(value, str) or not value:
        raise ValueError("id is empty or not a string")
    if len(value) <= width and _HEX_ANY_CASE.fullmatch(value):
        # Padded base64 (what Tempo sends) always holds "=" for 8- and 16-byte ids, so it
        # never gets here; an unpadded one made only of hex digits would be read as hex.
        return value.lower().zfill(width)
    try:
        raw = base64.b64decode(value.translate(_URLSAFE) + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) * 2 != width and not (width == 32 and len(raw) == 8):
        raise ValueError(f"id is neither hex nor base64 of {width // 2} bytes")
    return raw.hex().zfill(width)


def normalize_trace_id(value: str) -> str:
    """Any spelling of a trace id → 32 lowercase hex characters.

    Accepts hex in either case (leading zeros stripped or not, 64-bit ids, a ``0x`` prefix) and
    base64 (standard or URL-safe, padded or not). Raises :class:`InvalidTraceId` otherwise, or
    for the all-zero id (invalid in W3C trace context).
    """
    text = value.strip() if isinstance(value, str) else ""
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    if not text:
        raise InvalidTraceId("empty trace id")
    try:
        hex_id = id_to_hex(text, 32)
    except ValueError as exc:
        raise InvalidTraceId(f"not a trace id (hex or base64): {exc}") from None
    if hex_id == "0" * 32:
        raise InvalidTraceId("the all-zero trace id is invalid")
    return hex_id


def normalize_span_id(value: str) -> str:
    """Any spelling of a span id → 16 lowercase hex characters (``ValueError`` otherwise)."""
    return id_to_hex(value.strip() if isinstance(value, str) else value, 16)


# --------------------------------------------------------------------- attributes --
def attribute_text(value: Any) -> str:
    """An OTLP ``AnyValue`` (``{"stringValue": ...}``, ``{"intValue": "7800"}``...) as display text.

    Never raises: odd shapes become a short ``<...>`` marker. The text is raw, not sanitised.
    """
    if type(value) is not dict:
        return "" if value is None else _scalar_text(value)
    if not value:
        return ""
    for kind, inner in value.items():
        if kind == "stringValue":
            return inner if type(inner) is str else _scalar_text(inner)
        if kind == "intValue":
            return inner if type(inner) is str else _scalar_text(inner)
        if kind == "boolValue":
            return "true" if inner is True or inner == "true" else "false"
        if kind == "doubleValue":
            return _scalar_text(inner)
        if kind == "arrayValue":
            items = inner.get("values") if type(inner) is dict else None
            return "[" + ", ".join(attribute_text(v) for v in items or ()) + "]"
        if kind == "kvlistValue":
            items = inner.get("values") if type(inner) is dict else None
            return "{" + ", ".join(f"{k}={v}" for k, v in _attrs(items)) + "}"
        if kind == "bytesValue":
            return f"<bytes {inner}>"
        return f"<{kind}>"
    return ""


def _scalar_text(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is float:
        return repr(value)
    return str(value)


def _attrs(raw: Any) -> Attrs:
    """``[{key, value}]`` → ``[(key, text)]``; also accepts a plain mapping (the LLM format)."""
    if not raw:
        return []
    if type(raw) is dict:
        return [(str(k), _scalar_text(v) if not isinstance(v, dict) else attribute_text(v)) for k, v in raw.items()]
    if type(raw) is not list:
        return [("<attributes>", f"<malformed: {type(raw).__name__}>")]
    out: Attrs = []
    for item in raw:
        if type(item) is dict:
            out.append((str(item.get("key", "")), attribute_text(item.get("value"))))
        else:
            out.append(("<attribute>", f"<malformed: {type(item).__name__}>"))
    return out


def _lookup(attrs: Attrs, key: str) -> str | None:
    for k, v in attrs:
        if k == key:
            return v
    return None


def _int(value: Any, what: str) -> int:
    """A 64-bit number as Tempo sends it (decimal string, or a JSON number)."""
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            pass
    elif type(value) is int:
        return value
    elif type(value) is float and math.isfinite(value):
        return int(value)
    if value is None:
        raise TempoFormatError(f"{what} is missing")
    raise TempoFormatError(f"{what} is not an integer ({type(value).__name__})")


def _opt_int(value: Any, what: str, default: int | None = 0) -> int | None:
    return default if value is None else _int(value, what)


# -------------------------------------------------------------------------- spans --
@dataclass(slots=True)
class SpanEvent:
    """A span event: ``exception`` (type/message/stacktrace attributes), ``first_token``..."""

    name: str
    time_ns: int
    attributes: Attrs = field(default_factory=list)

    def attr(self, key: str) -> str | None:
        return _lookup(self.attributes, key)

    @property
    def is_exception(self) -> bool:
        return self.name == "exception"

    @property
    def exception_type(self) -> str | None:
        return self.attr("exception.type")

    @property
    def exception_message(self) -> str | None:
        return self.attr("exception.message")

    @property
    def exception_stacktrace(self) -> str | None:
        return self.attr("exception.stacktrace")


@dataclass(slots=True)
class SpanLink:
    """A link to another span (e.g. a retry pointing at the failed attempt)."""

    trace_id: str
    span_id: str
    attributes: Attrs = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Span:
    """One span, flattened. Ids are lowercase hex; times are integer nanoseconds since the epoch.

    ``attributes`` are converted on first access (most spans of a big trace are never opened).
    ``resource`` is shared by every span of the same resource (service + pod).
    """

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str
    kind: str
    start_ns: int
    end_ns: int
    status: StatusCode = "unset"
    status_message: str = ""
    resource: Attrs = field(default_factory=list)
    events: tuple[SpanEvent, ...] = ()
    links: tuple[SpanLink, ...] = ()
    scope: str = ""
    raw_attributes: Any = None
    _attributes: Attrs | None = None

    @property
    def attributes(self) -> Attrs:
        """Span attributes as ``(key, text)`` pairs (raw text; sanitise before display)."""
        if self._attributes is None:
            self._attributes = _attrs(self.raw_attributes)
            self.raw_attributes = None
        return self._attributes

    @property
    def duration_ns(self) -> int:
        return max(self.end_ns - self.start_ns, 0)

    @property
    def is_error(self) -> bool:
        return self.status == "error"

    @property
    def is_root(self) -> bool:
        return self.parent_id is None

    def attr(self, key: str) -> str | None:
        """A span attribute's text, else the resource attribute's, else None."""
        value = _lookup(self.attributes, key)
        return value if value is not None else _lookup(self.resource, key)

    @property
    def exceptions(self) -> list[SpanEvent]:
        return [e for e in self.events if e.name == "exception"]

    def __repr__(self) -> str:
        return f"Span({self.service!r}, {self.name!r}, {self.span_id}, parent={self.parent_id})"


@dataclass(slots=True)
class Trace:
    """A trace: its spans in the order Tempo sent them (no particular order).

    ``partial`` is set when Tempo filtered the trace (``/api/v2/traces/{id}?q=``); ``message``
    carries Tempo's explanation. An unknown trace is a ``Trace`` with no spans.
    """

    trace_id: str
    spans: list[Span] = field(default_factory=list)
    partial: bool = False
    message: str = ""

    @property
    def empty(self) -> bool:
        return not self.spans

    @property
    def start_ns(self) -> int:
        return min((s.start_ns for s in self.spans), default=0)

    @property
    def end_ns(self) -> int:
        return max((s.end_ns for s in self.spans), default=0)

    @property
    def duration_ns(self) -> int:
        return max(self.end_ns - self.start_ns, 0)

    @property
    def services(self) -> list[str]:
        """Service names, sorted."""
        return sorted({s.service for s in self.spans})

    @property
    def error_count(self) -> int:
        return sum(1 for s in self.spans if s.status == "error")

    def span(self, span_id: str) -> Span | None:
        """The span with this id (any spelling), or None."""
        try:
            wanted = normalize_span_id(span_id)
        except ValueError:
            return None
        return next((s for s in self.spans if s.span_id == wanted), None)


def parse_trace(body: Any, *, trace_id: str | None = None) -> Trace:
    """A trace body in any shape Tempo answers with → :class:`Trace`.

    Shapes: v1 ``{"batches": [...]}``, v2 ``{"trace": {"resourceSpans": [...]}}``, plain OTLP
    ``{"resourceSpans": [...]}`` and v2 with ``Accept: application/vnd.grafana.llm``
    (``{"trace": {"traceId", "services": [...]}}``). ``{"trace": {}}`` (v2's "not found") and
    ``{"batches": []}`` give an empty trace. ``trace_id`` (any spelling) is used for spans
    that carry none.
    """
    if type(body) is not dict:
        raise TempoFormatError(f"trace response is a {type(body).__name__}, not an object")
    partial = False
    message = ""
    if "trace" in body:
        inner = body["trace"]
        if inner is None:
            inner = {}
        if type(inner) is not dict:
            raise TempoFormatError(f"'trace' is a {type(inner).__name__}, not an object")
        partial = str(body.get("status", "")).upper() == "PARTIAL"
        message = str(body.get("message") or "")
        if "services" in inner:
            return _parse_llm(inner, trace_id, partial, message)
        resources = inner.get("resourceSpans")
        where = "trace.resourceSpans"
    elif "batches" in body:
        resources, where = body["batches"], "batches"
    elif "resourceSpans" in body:
        resources, where = body["resourceSpans"], "resourceSpans"
    else:
        raise TempoFormatError("trace response has none of 'trace', 'batches', 'resourceSpans'")
    expected = normalize_trace_id(trace_id) if trace_id else ""
    trace = Trace(trace_id=expected, spans=_parse_resource_spans(resources, where, expected))
    trace.partial, trace.message = partial, message
    if not trace.trace_id and trace.spans:
        trace.trace_id = trace.spans[0].trace_id
    return trace


def _parse_resource_spans(resources: Any, where: str, trace_id: str) -> list[Span]:
    if resources is None:
        return []
    if type(resources) is not list:
        raise TempoFormatError(f"{where} is a {type(resources).__name__}, not a list")
    spans: list[Span] = []
    ids: dict[str, str] = {}  # base64 → hex, ids repeat (parents, the trace id)
    for r, rs in enumerate(resources):
        loc = f"{where}[{r}]"
        if type(rs) is not dict:
            raise TempoFormatError(f"{loc} is not an object")
        resource = rs.get("resource") or {}
        res_attrs = _attrs(resource.get("attributes") if type(resource) is dict else None)
        service = _lookup(res_attrs, "service.name") or UNKNOWN_SERVICE
        scopes = rs.get("scopeSpans")
        if scopes is None:
            scopes = rs.get("instrumentationLibrarySpans")  # pre-1.0 OTLP
        if scopes is None:
            continue
        if type(scopes) is not list:
            raise TempoFormatError(f"{loc}.scopeSpans is not a list")
        for s, ss in enumerate(scopes):
            if type(ss) is not dict:
                raise TempoFormatError(f"{loc}.scopeSpans[{s}] is not an object")
            scope = ss.get("scope") or ss.get("instrumentationLibrary") or {}
            scope_name = str(scope.get("name", "")) if type(scope) is dict else ""
            raw_spans = ss.get("spans") or []
            if type(raw_spans) is not list:
                raise TempoFormatError(f"{loc}.scopeSpans[{s}].spans is not a list")
            for i, sp in enumerate(raw_spans):
                try:
                    spans.append(_parse_span(sp, service, res_attrs, scope_name, ids, trace_id))
                except TempoFormatError as exc:
                    raise TempoFormatError(f"{loc}.scopeSpans[{s}].spans[{i}]: {exc}") from None
                except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
                    raise TempoFormatError(
                        f"{loc}.scopeSpans[{s}].spans[{i}]: malformed span ({type(exc).__name__})"
                    ) from None
    return spans


def _hex(value: Any, width: int, ids: dict[str, str], what: str) -> str:
    """An id → hex, memoised per trace (parent ids and the trace id repeat on every span)."""
    if type(value) is str:
        cached = ids.get(value)
        if cached is not None:
            return cached
        if value[-1:] == "=":  # fast path: padded base64, as Tempo sends it
            try:
                raw = binascii.a2b_base64(value, strict_mode=True)
            except binascii.Error:
                raw = b""
            if len(raw) * 2 == width:
                ids[value] = out = raw.hex()
                return out
    try:
        out = id_to_hex(value, width)
    except ValueError as exc:
        raise TempoFormatError(f"{what}: {exc}") from None
    ids[value] = out
    return out


def _parse_span(
    sp: Any, service: str, resource: Attrs, scope: str, ids: dict[str, str], trace_id: str
) -> Span:
    """One OTLP span. The hot loop of a big trace: cached ids and plain ``int()`` first, the
    careful helpers (with clear error messages) only when those fail."""
    if type(sp) is not dict:
        raise TempoFormatError(f"span is a {type(sp).__name__}, not an object")
    get = sp.get
    cached = ids.get
    span_id = get("spanId")
    if not span_id:
        raise TempoFormatError("spanId is missing")
    sid = cached(span_id) if type(span_id) is str else None
    if sid is None:
        sid = _hex(span_id, 16, ids, "spanId")
    parent = get("parentSpanId")
    if parent:
        pid = cached(parent) if type(parent) is str else None
        if pid is None:
            pid = _hex(parent, 16, ids, "parentSpanId")
    else:
        pid = None
    raw_trace = get("traceId")
    if raw_trace:
        tid = cached(raw_trace) if type(raw_trace) is str else None
        if tid is None:
            tid = _hex(raw_trace, 32, ids, "traceId")
    else:
        tid = trace_id
    try:
        start = int(get("startTimeUnixNano"))  # type: ignore[arg-type]  # a decimal string
    except (TypeError, ValueError, OverflowError):
        start = _int(get("startTimeUnixNano"), "startTimeUnixNano")
    try:
        end = int(get("endTimeUnixNano"))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        end = _int(get("endTimeUnixNano"), "endTimeUnixNano")
    status = get("status")
    code: StatusCode = "unset"
    status_message = ""
    if status:
        code = _STATUSES.get(status.get("code"), "unset")
        status_message = status.get("message") or ""
        if type(status_message) is not str:
            status_message = str(status_message)
    name = get("name") or ""
    events = get("events")
    links = get("links")
    return Span(
        tid,
        sid,
        pid,
        name if type(name) is str else str(name),
        service,
        _KINDS.get(get("kind"), "unspecified"),
        start,
        end,
        code,
        status_message,
        resource,
        _parse_events(events) if events else (),
        _parse_links(links, ids) if links else (),
        scope,
        get("attributes"),
    )


def _parse_events(raw: Any) -> tuple[SpanEvent, ...]:
    if type(raw) is not list:
        raise TempoFormatError("events is not a list")
    out = []
    for j, ev in enumerate(raw):
        if type(ev) is not dict:
            raise TempoFormatError(f"events[{j}] is not an object")
        out.append(
            SpanEvent(
                name=str(ev.get("name") or ""),
                time_ns=_int(ev.get("timeUnixNano"), f"events[{j}].timeUnixNano"),
                attributes=_attrs(ev.get("attributes")),
            )
        )
    return tuple(out)


def _parse_links(raw: Any, ids: dict[str, str]) -> tuple[SpanLink, ...]:
    if type(raw) is not list:
        raise TempoFormatError("links is not a list")
    out = []
    for j, ln in enumerate(raw):
        if type(ln) is not dict:
            raise TempoFormatError(f"links[{j}] is not an object")
        out.append(
            SpanLink(
                trace_id=_hex(ln.get("traceId"), 32, ids, f"links[{j}].traceId"),
                span_id=_hex(ln.get("spanId"), 16, ids, f"links[{j}].spanId"),
                attributes=_attrs(ln.get("attributes")),
            )
        )
    return tuple(out)


def _parse_llm(inner: dict[str, Any], trace_id: str | None, partial: bool, message: str) -> Trace:
    """The simplified ``application/vnd.grafana.llm`` shape: hex ids, attributes as maps."""
    tid = normalize_trace_id(str(inner.get("traceId") or trace_id or ""))
    services = inner.get("services")
    if type(services) is not list:
        raise TempoFormatError("trace.services is not a list")
    spans: list[Span] = []
    ids: dict[str, str] = {}
    for si, svc in enumerate(services):
        if type(svc) is not dict:
            raise TempoFormatError(f"trace.services[{si}] is not an object")
        name = str(svc.get("serviceName") or UNKNOWN_SERVICE)
        resource = [("service.name", name), *_attrs(svc.get("resource"))]
        for ci, scope in enumerate(svc.get("scopes") or []):
            if type(scope) is not dict:
                raise TempoFormatError(f"trace.services[{si}].scopes[{ci}] is not an object")
            for i, sp in enumerate(scope.get("spans") or []):
                try:
                    span = _parse_span(sp, name, resource, str(scope.get("name", "")), ids, tid)
                except TempoFormatError as exc:
                    raise TempoFormatError(f"trace.services[{si}].scopes[{ci}].spans[{i}]: {exc}") from None
                except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
                    raise TempoFormatError(
                        f"trace.services[{si}].scopes[{ci}].spans[{i}]: malformed span ({type(exc).__name__})"
                    ) from None
                spans.append(span)
    return Trace(trace_id=tid, spans=spans, partial=partial, message=message)


# ------------------------------------------------------------------------- search --
@dataclass(slots=True)
class MatchedSpan:
    """A span of a search result's span set (only the attributes the query touched)."""

    span_id: str
    name: str
    start_ns: int
    duration_ns: int
    attributes: Attrs = field(default_factory=list)

    @property
    def service(self) -> str | None:
        return _lookup(self.attributes, "service.name")


@dataclass(slots=True)
class SpanSet:
    """Up to ``spss`` matching spans; ``matched`` is the real number of matches."""

    spans: list[MatchedSpan]
    matched: int


@dataclass(slots=True)
class ServiceStats:
    span_count: int
    error_count: int = 0


@dataclass(slots=True)
class TraceSummary:
    """One trace of a search result. ``trace_id`` is zero-padded back to 32 hex characters."""

    trace_id: str
    root_service: str
    root_name: str
    start_ns: int
    duration_ms: float
    span_sets: list[SpanSet] = field(default_factory=list)
    service_stats: dict[str, ServiceStats] = field(default_factory=dict)

    @property
    def duration_ns(self) -> int:
        return int(self.duration_ms * 1_000_000)

    @property
    def error_count(self) -> int:
        """Error spans across services (0 when the search did not return ``serviceStats``)."""
        return sum(s.error_count for s in self.service_stats.values())

    @property
    def span_count(self) -> int:
        return sum(s.span_count for s in self.service_stats.values())

    @property
    def matched(self) -> int:
        return sum(s.matched for s in self.span_sets)


@dataclass(slots=True)
class SearchMetrics:
    inspected_traces: int | None = None
    inspected_bytes: int | None = None
    completed_jobs: int | None = None
    total_jobs: int | None = None

    @property
    def partial(self) -> bool:
        """Some query jobs did not complete: results may be missing."""
        return (
            self.completed_jobs is not None
            and self.total_jobs is not None
            and self.completed_jobs < self.total_jobs
        )


@dataclass(slots=True)
class SearchResult:
    traces: list[TraceSummary]
    metrics: SearchMetrics = field(default_factory=SearchMetrics)


def _metrics(raw: Any) -> SearchMetrics:
    if type(raw) is not dict:
        return SearchMetrics()
    return SearchMetrics(
        inspected_traces=_opt_int(raw.get("inspectedTraces"), "metrics.inspectedTraces", None),
        inspected_bytes=_opt_int(raw.get("inspectedBytes"), "metrics.inspectedBytes", None),
        completed_jobs=_opt_int(raw.get("completedJobs"), "metrics.completedJobs", None),
        total_jobs=_opt_int(raw.get("totalJobs"), "metrics.totalJobs", None),
    )


def _span_set(raw: Any, where: str) -> SpanSet:
    if type(raw) is not dict:
        raise TempoFormatError(f"{where} is not an object")
    spans = []
    for i, sp in enumerate(raw.get("spans") or []):
        w = f"{where}.spans[{i}]"
        if type(sp) is not dict:
            raise TempoFormatError(f"{w} is not an object")
        try:
            span_id = normalize_span_id(sp.get("spanID") or "")
        except ValueError:
            raise TempoFormatError(f"{w}.spanID is missing or not an id") from None
        spans.append(
            MatchedSpan(
                span_id=span_id,
                name=str(sp.get("name") or ""),
                start_ns=_int(sp.get("startTimeUnixNano"), f"{w}.startTimeUnixNano"),
                duration_ns=_opt_int(sp.get("durationNanos"), f"{w}.durationNanos") or 0,
                attributes=_attrs(sp.get("attributes")),
            )
        )
    return SpanSet(spans=spans, matched=_opt_int(raw.get("matched"), f"{where}.matched") or len(spans))


def _summary(raw: Any, where: str) -> TraceSummary:
    if type(raw) is not dict:
        raise TempoFormatError(f"{where} is not an object")
    try:
        trace_id = normalize_trace_id(raw.get("traceID") or "")
    except InvalidTraceId:
        raise TempoFormatError(f"{where}.traceID is missing or not a trace id") from None
    duration = raw.get("durationMs")
    if duration is not None and (type(duration) not in (int, float) or math.isnan(duration)):
        try:
            duration = float(duration)
        except (TypeError, ValueError):
            raise TempoFormatError(f"{where}.durationMs is not a number") from None
    sets_raw = raw.get("spanSets")
    if sets_raw is None and raw.get("spanSet") is not None:
        sets_raw = [raw["spanSet"]]  # older Tempo: only the deprecated single copy
    if sets_raw is not None and type(sets_raw) is not list:
        raise TempoFormatError(f"{where}.spanSets is not a list")
    stats_raw = raw.get("serviceStats") or {}
    if type(stats_raw) is not dict:
        raise TempoFormatError(f"{where}.serviceStats is not an object")
    stats = {}
    for svc, st in stats_raw.items():
        if type(st) is not dict:
            raise TempoFormatError(f"{where}.serviceStats entry is not an object")
        stats[str(svc)] = ServiceStats(
            span_count=_opt_int(st.get("spanCount"), f"{where}.serviceStats.spanCount") or 0,
            error_count=_opt_int(st.get("errorCount"), f"{where}.serviceStats.errorCount") or 0,
        )
    return TraceSummary(
        trace_id=trace_id,
        root_service=str(raw.get("rootServiceName") or ""),
        root_name=str(raw.get("rootTraceName") or ""),
        start_ns=_opt_int(raw.get("startTimeUnixNano"), f"{where}.startTimeUnixNano") or 0,
        duration_ms=float(duration or 0),
        span_sets=[_span_set(s, f"{where}.spanSets[{i}]") for i, s in enumerate(sets_raw or [])],
        service_stats=stats,
    )


def parse_search(body: Any) -> SearchResult:
    """``/api/search`` (TraceQL ``q=`` or ``tags=``) → :class:`SearchResult`."""
    if type(body) is not dict or "traces" not in body:
        raise TempoFormatError("search response has no 'traces' list")
    traces = body["traces"] or []
    if type(traces) is not list:
        raise TempoFormatError("'traces' is not a list")
    return SearchResult(
        traces=[_summary(t, f"traces[{i}]") for i, t in enumerate(traces)],
        metrics=_metrics(body.get("metrics")),
    )


# --------------------------------------------------------------------------- tags --
@dataclass(slots=True, frozen=True)
class TagValue:
    """A tag value; ``type`` is v2's (``string``, ``int``, ``keyword``...), empty from v1."""

    value: str
    type: str = ""


def parse_tag_names(body: Any) -> dict[str, list[str]]:
    """v2 ``{"scopes": [{name, tags}]}`` → ``{scope: tags}``; v1 ``{"tagNames": [...]}`` →
    ``{UNSCOPED: tags}``."""
    if type(body) is not dict:
        raise TempoFormatError("tag names response is not an object")
    if "scopes" in body:
        scopes = body["scopes"] or []
        if type(scopes) is not list:
            raise TempoFormatError("'scopes' is not a list")
        out: dict[str, list[str]] = {}
        for i, sc in enumerate(scopes):
            if type(sc) is not dict or type(sc.get("tags") or []) is not list:
                raise TempoFormatError(f"scopes[{i}] is not {{name, tags: [...]}}")
            out.setdefault(str(sc.get("name") or UNSCOPED), []).extend(str(t) for t in sc.get("tags") or [])
        return out
    if "tagNames" in body:
        names = body["tagNames"] or []
        if type(names) is not list:
            raise TempoFormatError("'tagNames' is not a list")
        return {UNSCOPED: [str(n) for n in names]}
    raise TempoFormatError("tag names response has neither 'scopes' nor 'tagNames'")


def parse_tag_values(body: Any) -> list[TagValue]:
    """v2 ``{"tagValues": [{type, value}]}`` or v1 ``{"tagValues": ["..."]}`` → values."""
    if type(body) is not dict or "tagValues" not in body:
        raise TempoFormatError("tag values response has no 'tagValues'")
    values = body["tagValues"] or []
    if type(values) is not list:
        raise TempoFormatError("'tagValues' is not a list")
    out = []
    for i, v in enumerate(values):
        if type(v) is dict:
            out.append(TagValue(value=_scalar_text(v.get("value", "")), type=str(v.get("type") or "")))
        elif isinstance(v, str | int | float):
            out.append(TagValue(value=_scalar_text(v)))
        else:
            raise TempoFormatError(f"tagValues[{i}] is neither a string nor {{type, value}}")
    return out


# ------------------------------------------------------------------------ metrics --
@dataclass(slots=True)
class MetricSeries:
    """A TraceQL-metrics series: labels, and ``(timestamp ms, value)`` samples (range query)
    or one ``value`` (instant query). Samples Tempo sent without a value are 0 (proto3)."""

    labels: dict[str, str]
    samples: list[tuple[int, float]] = field(default_factory=list)
    value: float | None = None


def parse_metrics(body: Any) -> list[MetricSeries]:
    """``/api/metrics/query_range`` or ``/api/metrics/query`` → series."""
    if type(body) is not dict or "series" not in body:
        raise TempoFormatError("metrics response has no 'series'")
    series = body["series"] or []
    if type(series) is not list:
        raise TempoFormatError("'series' is not a list")
    out = []
    for i, s in enumerate(series):
        if type(s) is not dict:
            raise TempoFormatError(f"series[{i}] is not an object")
        samples = []
        for j, smp in enumerate(s.get("samples") or []):
            if type(smp) is not dict:
                raise TempoFormatError(f"series[{i}].samples[{j}] is not an object")
            samples.append(
                (
                    _int(smp.get("timestampMs"), f"series[{i}].samples[{j}].timestampMs"),
                    _float(smp.get("value", 0.0), f"series[{i}].samples[{j}].value"),
                )
            )
        value = s.get("value")
        out.append(
            MetricSeries(
                labels=dict(_attrs(s.get("labels"))),
                samples=samples,
                value=None if value is None else _float(value, f"series[{i}].value"),
            )
        )
    return out


def _float(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TempoFormatError(f"{what} is not a number") from None
