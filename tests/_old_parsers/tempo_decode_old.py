"""Trace bodies in every shape Tempo answers with → :class:`~.trace.Trace` (:func:`parse_trace`).

A 10,000-span trace has to be parsed and laid out in well under 200 ms, so spans are filled by
direct dict access, with cached id conversions. Shapes and quirks follow the recorded responses
in ``shared/fixtures/tempo`` (see its README):

- ``GET /api/traces/{id}`` (v1) → ``{"batches": [...]}``; ``GET /api/v2/traces/{id}`` →
  ``{"trace": {"resourceSpans": [...]}, "metrics": ...}``; an unknown id is a v1 404 with an
  empty body but a v2 **200** with ``{"trace": {}}`` (:func:`parse_trace` returns an empty
  :class:`Trace`; the client turns that into ``NotFound``).
- 64-bit numbers come as decimal strings; enums as strings (``SPAN_KIND_SERVER``,
  ``STATUS_CODE_ERROR``) or, from other encoders, as integers; an unset status is ``{}``;
  zero/empty fields are omitted.

A body that does not have the documented shape raises :class:`TempoFormatError` that says where,
never a bare ``KeyError``.
"""

from __future__ import annotations

import binascii
from typing import Any

from oncall_tui.models.tempo.ids import id_to_hex, normalize_trace_id
from oncall_tui.models.tempo.trace import (  # noqa: I001
    UNKNOWN_SERVICE,
    Span,
    SpanEvent,
    SpanLink,
    StatusCode,
    Trace,
)
from oncall_tui.models.tempo.values import (
    Attrs,
    TempoFormatError,
    find_attr,
    parse_attrs,
    parse_int,
)

__all__ = ["parse_trace"]

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
        res_attrs = parse_attrs(resource.get("attributes") if type(resource) is dict else None)
        service = find_attr(res_attrs, "service.name") or UNKNOWN_SERVICE
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
        start = parse_int(get("startTimeUnixNano"), "startTimeUnixNano")
    try:
        end = int(get("endTimeUnixNano"))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        end = parse_int(get("endTimeUnixNano"), "endTimeUnixNano")
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
                time_ns=parse_int(ev.get("timeUnixNano"), f"events[{j}].timeUnixNano"),
                attributes=parse_attrs(ev.get("attributes")),
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
                attributes=parse_attrs(ln.get("attributes")),
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
        resource = [("service.name", name), *parse_attrs(svc.get("resource"))]
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
