"""A trace as flat, fast Python objects: :class:`Trace`, :class:`Span`, :class:`SpanEvent`,
:class:`SpanLink` (``__slots__`` dataclasses, no pydantic per span).

Ids are lowercase hex; times are integer nanoseconds since the epoch. :mod:`.decode` fills
these from Tempo's trace bodies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from oncall_tui.models.tempo.ids import normalize_span_id
from oncall_tui.models.tempo.values import Attrs, find_attr, parse_attrs
from oncall_tui.models.tempo.wire import decode_raw

__all__ = ["UNKNOWN_SERVICE", "Span", "SpanEvent", "SpanLink", "StatusCode", "Trace"]

StatusCode = Literal["unset", "ok", "error"]

#: Service name when a resource has no ``service.name`` (the OpenTelemetry convention).
UNKNOWN_SERVICE = "unknown_service"


@dataclass(slots=True)
class SpanEvent:
    """A span event: ``exception`` (type/message/stacktrace attributes), ``first_token``..."""

    name: str
    time_ns: int
    attributes: Attrs = field(default_factory=list)

    def attr(self, key: str) -> str | None:
        return find_attr(self.attributes, key)

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


class Span(msgspec.Struct, eq=False, gc=False, repr_omit_defaults=True):
    """One span, flattened. Ids are lowercase hex; times are integer nanoseconds since the epoch.

    ``attributes`` are decoded and converted on first access (most spans of a big trace are
    never opened): ``raw_attributes`` holds them undecoded (``msgspec.Raw``) or as plain data.
    ``resource`` is shared by every span of the same resource (service + pod).

    A msgspec struct that the cyclic GC does not track (``gc=False``: a span refers to no
    object that refers back to it), so the 50,000 spans of a big trace cost the collector
    nothing on each full collection. Compared by identity (``eq=False``).
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
    resource: Attrs = msgspec.field(default_factory=list)
    events: tuple[SpanEvent, ...] = ()
    links: tuple[SpanLink, ...] = ()
    scope: str = ""
    raw_attributes: Any = None
    _attributes: Attrs | None = None

    @property
    def attributes(self) -> Attrs:
        """Span attributes as ``(key, text)`` pairs (raw text; sanitise before display)."""
        if self._attributes is None:
            raw = self.raw_attributes
            if type(raw) is msgspec.Raw:  # left undecoded by the decoder (most spans are never opened)
                raw = decode_raw(raw)
            self._attributes = parse_attrs(raw)
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
        value = find_attr(self.attributes, key)
        return value if value is not None else find_attr(self.resource, key)

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
