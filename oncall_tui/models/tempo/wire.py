"""Tempo's trace bodies as msgspec structs that mirror the wire (decoded straight from bytes),
and the translation of msgspec's errors into :class:`~.values.TempoFormatError`.

The structs are ``gc=False`` (they form no cycles) and short-lived: :mod:`.decode` turns them
into :class:`~.trace.Span` objects. Span attributes stay undecoded (``msgspec.Raw``, a view of
the body): most spans of a big trace are never opened, so their attributes are decoded on
first access (:attr:`Span.attributes`). Fields the old hand-written parser tolerated in any
type (names, kinds, status codes, scope names) are ``Any`` and normalised in Python.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from oncall_tui.models.tempo.values import TempoFormatError

__all__ = [
    "WireBody",
    "WireInner",
    "WireResourceSpans",
    "WireSpan",
    "decode_error",
    "decode_raw",
]

Number = int | float | str  # 64-bit numbers: decimal strings from Tempo, numbers from others
_NULL = msgspec.Raw(b"null")


class WireStatus(msgspec.Struct, gc=False):
    code: Any = None
    message: Any = None


class WireEvent(msgspec.Struct, gc=False):
    timeUnixNano: Number | None = None
    name: Any = None
    attributes: Any = None


class WireLink(msgspec.Struct, gc=False):
    traceId: Any = None
    spanId: Any = None
    attributes: Any = None


class WireSpan(msgspec.Struct, gc=False):
    spanId: Any = None
    startTimeUnixNano: Number | None = None
    endTimeUnixNano: Number | None = None
    traceId: Any = None
    parentSpanId: Any = None
    name: Any = None
    kind: Any = None
    status: WireStatus | None = None
    attributes: msgspec.Raw = _NULL
    events: list[WireEvent] | None = None
    links: list[WireLink] | None = None


class WireScope(msgspec.Struct, gc=False):
    name: Any = None


class WireScopeSpans(msgspec.Struct, gc=False):
    scope: WireScope | None = None
    instrumentationLibrary: WireScope | None = None
    spans: list[WireSpan] | None = None


class WireResource(msgspec.Struct, gc=False):
    attributes: Any = None


class WireResourceSpans(msgspec.Struct, gc=False):
    resource: WireResource | None = None
    scopeSpans: list[WireScopeSpans] | None = None
    instrumentationLibrarySpans: list[WireScopeSpans] | None = None  # pre-1.0 OTLP


class WireLlmScope(msgspec.Struct, gc=False):
    name: Any = None
    spans: list[WireSpan] | None = None


class WireService(msgspec.Struct, gc=False):
    serviceName: Any = None
    resource: Any = None
    scopes: list[WireLlmScope] | None = None


class WireInner(msgspec.Struct, gc=False):
    resourceSpans: list[WireResourceSpans] | None = None
    #: The ``application/vnd.grafana.llm`` shape (UNSET: not that shape).
    services: list[WireService] | msgspec.UnsetType = msgspec.UNSET
    traceId: Any = None


class WireBody(msgspec.Struct, gc=False):
    """v1 ``{"batches"}``, v2 ``{"trace", "status", "message"}`` or plain OTLP ``{"resourceSpans"}``."""

    trace: WireInner | None | msgspec.UnsetType = msgspec.UNSET
    batches: list[WireResourceSpans] | None | msgspec.UnsetType = msgspec.UNSET
    resourceSpans: list[WireResourceSpans] | None | msgspec.UnsetType = msgspec.UNSET
    status: Any = None
    message: Any = None


# ------------------------------------------------------------------ errors --
_EXPECTED = re.compile(r"Expected `([^`]*)`, got `([a-z]+)`")
_MISSING = re.compile(r"Object missing required field `([A-Za-z0-9_]+)`")
_AT = re.compile(r" - at `\$((?:\.[A-Za-z0-9_]+|\[\d+\]|\[\.\.\.\])*)`$")


def decode_error(exc: Exception, *, what: str = "response") -> TempoFormatError:
    """A :class:`TempoFormatError` from a msgspec error: the field path and the JSON types
    involved, never a value (msgspec quotes values in some messages, those are dropped)."""
    if isinstance(exc, RecursionError):
        return TempoFormatError(f"{what} JSON is nested too deeply")
    message = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        if message.startswith(("JSON is malformed", "Input data was truncated", "Invalid UTF-8")):
            return TempoFormatError(f"{what} is not valid JSON ({message})")
        return TempoFormatError(f"{what} is not valid JSON")
    at = _AT.search(message)
    path = at.group(1).lstrip(".") if at else ""
    if (m := _MISSING.match(message)) is not None:
        return TempoFormatError(f"{path or what}: {m.group(1)} is missing")
    if (m := _EXPECTED.match(message)) is not None:
        expected, got = m.groups()
        return TempoFormatError(f"{path or what} is {_article(got)}, not {_article(expected)}")
    return TempoFormatError(f"{path or what}: invalid value")


def _article(json_type: str) -> str:
    words = {"object": "an object", "array": "a list", "str": "a string", "int": "an integer"}
    parts = [p.strip() for p in json_type.split("|")]
    return " or ".join(words.get(p, p) for p in parts)


def decode_raw(raw: msgspec.Raw) -> Any:
    """A ``Raw`` field as plain Python data (a marker that shows as malformed if it does not
    decode). Bytes that are not UTF-8 become U+FFFD where they stand, as in the rest of the body."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        if "UTF-8" in str(exc):
            try:
                return msgspec.json.decode(bytes(raw).decode("utf-8", errors="replace").encode())
            except (msgspec.MsgspecError, RecursionError, ValueError):
                pass
        return _UNDECODABLE
    except (msgspec.MsgspecError, RecursionError, ValueError):
        return _UNDECODABLE


class _Undecodable:
    """Marker for a raw value that did not decode (shown as a malformed attribute)."""

    __slots__ = ()


_UNDECODABLE = _Undecodable()
