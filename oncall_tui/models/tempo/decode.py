"""Trace bodies in every shape Tempo answers with → :class:`~.trace.Trace` (:func:`parse_trace`).

A 50,000-span trace has to open in well under 2 s, so a body is decoded straight from bytes into
the msgspec structs of :mod:`.wire` (with the cyclic GC paused for a big one; span attributes
left undecoded until a span is opened) and spans are filled from them with cached id
conversions. Shapes and quirks follow the recorded responses
in ``shared/fixtures/tempo`` (see its README):

- ``GET /api/traces/{id}`` (v1) → ``{"batches": [...]}``; ``GET /api/v2/traces/{id}`` →
  ``{"trace": {"resourceSpans": [...]}, "metrics": ...}``; an unknown id is a v1 404 with an
  empty body but a v2 **200** with ``{"trace": {}}`` (:func:`parse_trace` returns an empty
  :class:`Trace`; the client turns that into ``NotFound``).
- 64-bit numbers come as decimal strings; enums as strings (``SPAN_KIND_SERVER``,
  ``STATUS_CODE_ERROR``) or, from other encoders, as integers; an unset status is ``{}``;
  zero/empty fields are omitted.

A body that does not have the documented shape raises :class:`TempoFormatError` that says where
(the field path), never a bare ``KeyError`` and never a value from the body.
"""

from __future__ import annotations

import binascii
from typing import Any

import msgspec

from oncall_tui.models.gcpause import paused_for_size
from oncall_tui.models.tempo.ids import id_to_hex, normalize_trace_id
from oncall_tui.models.tempo.trace import (
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
from oncall_tui.models.tempo.wire import (
    WireBody,
    WireInner,
    WireResourceSpans,
    WireSpan,
    decode_error,
)

__all__ = ["decode_body", "parse_trace"]

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


_DECODER = msgspec.json.Decoder(WireBody)


def decode_body(body: bytes | bytearray | memoryview) -> WireBody:
    """A trace body's bytes → :class:`~.wire.WireBody` (GC paused for a big one)."""
    with paused_for_size(len(body)):
        try:
            return _DECODER.decode(body)
        except (msgspec.MsgspecError, RecursionError) as exc:
            if isinstance(exc, msgspec.DecodeError) and "UTF-8" in str(exc) and isinstance(body, bytes):
                # A value that is not UTF-8: keep the rest (U+FFFD where it stood), as json does.
                try:
                    return _DECODER.decode(body.decode("utf-8", errors="replace").encode())
                except (msgspec.MsgspecError, RecursionError) as again:
                    raise decode_error(again, what="trace response") from None
            raise decode_error(exc, what="trace response") from None


def parse_trace(body: Any, *, trace_id: str | None = None) -> Trace:
    """A trace body in any shape Tempo answers with → :class:`Trace`.

    ``body`` is the response's bytes (decoded here, straight into typed structs) or, for
    callers holding decoded JSON, the Python value. Shapes: v1 ``{"batches": [...]}``, v2
    ``{"trace": {"resourceSpans": [...]}}``, plain OTLP ``{"resourceSpans": [...]}`` and v2
    with ``Accept: application/vnd.grafana.llm`` (``{"trace": {"traceId", "services": [...]}}``).
    ``{"trace": {}}`` (v2's "not found") and ``{"batches": []}`` give an empty trace.
    ``trace_id`` (any spelling) is used for spans that carry none.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        try:
            body = msgspec.json.encode(body)
        except (TypeError, ValueError, OverflowError, RecursionError):
            raise TempoFormatError("trace response is not JSON data") from None
    wire = decode_body(body)
    with paused_for_size(len(body)):
        return _from_wire(wire, trace_id)


def _from_wire(body: WireBody, trace_id: str | None) -> Trace:
    partial = False
    message = ""
    unset = msgspec.UNSET
    if body.trace is not unset:
        inner = body.trace if body.trace is not None else WireInner()
        partial = str(body.status if body.status is not None else "").upper() == "PARTIAL"
        message = str(body.message or "")
        if inner.services is not unset:
            return _parse_llm(inner, trace_id, partial, message)
        resources, where = inner.resourceSpans, "trace.resourceSpans"
    elif body.batches is not unset:
        resources, where = body.batches, "batches"
    elif body.resourceSpans is not unset:
        resources, where = body.resourceSpans, "resourceSpans"
    else:
        raise TempoFormatError("trace response has none of 'trace', 'batches', 'resourceSpans'")
    expected = normalize_trace_id(trace_id) if trace_id else ""
    trace = Trace(trace_id=expected, spans=_parse_resource_spans(resources, where, expected))
    trace.partial, trace.message = partial, message
    if not trace.trace_id and trace.spans:
        trace.trace_id = trace.spans[0].trace_id
    return trace


def _parse_resource_spans(resources: list[WireResourceSpans] | None, where: str, trace_id: str) -> list[Span]:
    if not resources:
        return []
    spans: list[Span] = []
    append = spans.append
    ids: dict[Any, str] = {}  # base64 → hex, ids repeat (parents, the trace id)
    for r, rs in enumerate(resources):
        resource = rs.resource
        res_attrs = parse_attrs(resource.attributes if resource is not None else None)
        service = find_attr(res_attrs, "service.name") or UNKNOWN_SERVICE
        scopes = rs.scopeSpans
        if scopes is None:
            scopes = rs.instrumentationLibrarySpans
        if not scopes:
            continue
        for s, ss in enumerate(scopes):
            scope = ss.scope or ss.instrumentationLibrary
            scope_name = _text(scope.name) if scope is not None and scope.name is not None else ""
            for i, sp in enumerate(ss.spans or ()):
                try:
                    append(_parse_span(sp, service, res_attrs, scope_name, ids, trace_id))
                except TempoFormatError as exc:
                    raise TempoFormatError(f"{where}[{r}].scopeSpans[{s}].spans[{i}]: {exc}") from None
                except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
                    raise TempoFormatError(
                        f"{where}[{r}].scopeSpans[{s}].spans[{i}]: malformed span ({type(exc).__name__})"
                    ) from None
    return spans


def _text(value: Any) -> str:
    return value if type(value) is str else str(value)


def _hex(value: Any, width: int, ids: dict[Any, str], what: str) -> str:
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
    if type(value) is str:
        ids[value] = out
    return out


def _parse_span(sp: WireSpan, service: str, resource: Attrs, scope: str, ids: dict[Any, str], trace_id: str) -> Span:
    """One OTLP span. The hot loop of a big trace: cached ids and plain ``int()`` first, the
    careful helpers (with clear error messages) only when those fail."""
    cached = ids.get
    span_id = sp.spanId
    if not span_id:
        raise TempoFormatError("spanId is missing")
    sid = cached(span_id) if type(span_id) is str else None
    if sid is None:
        sid = _hex(span_id, 16, ids, "spanId")
    parent = sp.parentSpanId
    if parent:
        pid = cached(parent) if type(parent) is str else None
        if pid is None:
            pid = _hex(parent, 16, ids, "parentSpanId")
    else:
        pid = None
    raw_trace = sp.traceId
    if raw_trace:
        tid = cached(raw_trace) if type(raw_trace) is str else None
        if tid is None:
            tid = _hex(raw_trace, 32, ids, "traceId")
    else:
        tid = trace_id
    try:
        start = int(sp.startTimeUnixNano)  # type: ignore[arg-type]  # a decimal string
    except (TypeError, ValueError, OverflowError):
        start = parse_int(sp.startTimeUnixNano, "startTimeUnixNano")
    try:
        end = int(sp.endTimeUnixNano)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        end = parse_int(sp.endTimeUnixNano, "endTimeUnixNano")
    status = sp.status
    code: StatusCode = "unset"
    status_message = ""
    if status is not None:
        code = _STATUSES.get(status.code, "unset")
        status_message = status.message or ""
        if type(status_message) is not str:
            status_message = str(status_message)
    name = sp.name or ""
    events = sp.events
    links = sp.links
    return Span(
        tid,
        sid,
        pid,
        name if type(name) is str else str(name),
        service,
        _KINDS.get(sp.kind, "unspecified"),
        start,
        end,
        code,
        status_message,
        resource,
        _parse_events(events) if events else (),
        _parse_links(links, ids) if links else (),
        scope,
        sp.attributes,
    )


def _parse_events(raw: list[Any]) -> tuple[SpanEvent, ...]:
    return tuple(
        SpanEvent(
            name=str(ev.name or ""),
            time_ns=parse_int(ev.timeUnixNano, f"events[{j}].timeUnixNano"),
            attributes=parse_attrs(ev.attributes),
        )
        for j, ev in enumerate(raw)
    )


def _parse_links(raw: list[Any], ids: dict[Any, str]) -> tuple[SpanLink, ...]:
    return tuple(
        SpanLink(
            trace_id=_hex(ln.traceId, 32, ids, f"links[{j}].traceId"),
            span_id=_hex(ln.spanId, 16, ids, f"links[{j}].spanId"),
            attributes=parse_attrs(ln.attributes),
        )
        for j, ln in enumerate(raw)
    )


def _parse_llm(inner: WireInner, trace_id: str | None, partial: bool, message: str) -> Trace:
    """The simplified ``application/vnd.grafana.llm`` shape: hex ids, attributes as maps."""
    tid = normalize_trace_id(str(inner.traceId or trace_id or ""))
    spans: list[Span] = []
    ids: dict[Any, str] = {}
    for si, svc in enumerate(inner.services or ()):  # type: ignore[union-attr]
        name = str(svc.serviceName or UNKNOWN_SERVICE)
        resource = [("service.name", name), *parse_attrs(svc.resource)]
        for ci, scope in enumerate(svc.scopes or ()):
            scope_name = "" if scope.name is None else str(scope.name)
            for i, sp in enumerate(scope.spans or ()):
                try:
                    span = _parse_span(sp, name, resource, scope_name, ids, tid)
                except TempoFormatError as exc:
                    raise TempoFormatError(f"trace.services[{si}].scopes[{ci}].spans[{i}]: {exc}") from None
                except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
                    raise TempoFormatError(
                        f"trace.services[{si}].scopes[{ci}].spans[{i}]: malformed span ({type(exc).__name__})"
                    ) from None
                spans.append(span)
    return Trace(trace_id=tid, spans=spans, partial=partial, message=message)
