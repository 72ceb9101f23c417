"""Models of the Loki HTTP API (v1), as recorded from Loki 3.x (``shared/fixtures/loki``).

Log lines are the hot path (a drill-down may load 100,000 of them), so a ``query_range`` body
is decoded straight from bytes (:func:`decode_query_body`) into msgspec structs, with the GC
paused for a big one, and turned into :class:`LogEntry` tuples: every entry of a stream shares
that stream's labels mapping and identity, and identical per-entry metadata (``{"detected_level":
"info"}`` on most lines) is one shared mapping. No intermediate JSON objects are built. Everything small (patterns, detected fields, index
stats) is a pydantic :class:`ApiModel`. Metric results reuse the Prometheus models, after
fixing Loki's timestamp quirk: vector/matrix timestamps are float seconds, a scalar's is an
integer in *milliseconds*.

Log entries come in two forms. By default Loki merges structured metadata and parsed labels
into ``stream`` (so one pushed stream comes back as many); with the
``X-Loki-Response-Encoding-Flags: categorize-labels`` header ``stream`` keeps only the indexed
labels and each entry gets a third element ``{"structuredMetadata": {…}, "parsed": {…}}``.
Both parse to the same :class:`LogEntry`. Values stay raw; display code sanitises them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, Self

import msgspec
from pydantic import TypeAdapter, field_validator

from oncall_tui.models.common import ADAPTER_CONFIG, ApiModel, BuildInfo
from oncall_tui.models.gcpause import gc_paused, paused_for_size
from oncall_tui.models.prometheus import (
    MatrixResult,
    ScalarResult,
    StringResult,
    VectorResult,
    parse_query_data,
)

__all__ = [
    "EMPTY_LABELS",
    "BuildInfo",
    "DetectedField",
    "DetectedLabel",
    "DroppedEntry",
    "IndexStats",
    "LogEntry",
    "LogPattern",
    "LokiFormatError",
    "LokiQueryData",
    "QueryBody",
    "StreamKey",
    "StreamsResult",
    "TailFrame",
    "decode_query_body",
    "gc_paused",
    "ns_to_datetime",
    "parse_detected_field_values",
    "parse_detected_fields",
    "parse_detected_labels",
    "parse_loki_query_data",
    "parse_patterns",
    "parse_streams",
    "parse_tail_frame",
    "stream_key",
    "to_ns",
]

#: The shared, read-only empty label set (entries without metadata or parsed labels).
EMPTY_LABELS: Mapping[str, str] = MappingProxyType({})

#: A stream's identity: its label pairs, hashable (a frozenset caches its hash).
StreamKey = frozenset[tuple[str, str]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BY_TS = itemgetter(0)


# --------------------------------------------------------------------------- times --
def to_ns(value: float | datetime) -> int:
    """Unix nanoseconds from a datetime (aware), float seconds, or an int.

    Ints follow Loki's own rule for integer timestamps: up to 10 digits are seconds, longer
    ones nanoseconds (so ``1795325850`` and ``1795325850674742925`` both work). Use ints or
    datetimes where nanoseconds matter: a float cannot hold a 19-digit nanosecond time.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("datetime must be timezone-aware")
        return ((value - _EPOCH) // timedelta(microseconds=1)) * 1000
    if isinstance(value, bool):
        raise TypeError("expected a time, got a bool")
    if isinstance(value, int):
        return value * 1_000_000_000 if abs(value) < 10_000_000_000 else value
    if isinstance(value, float):
        return round(value * 1e9)
    raise TypeError("expected a datetime, float seconds or int nanoseconds")


def ns_to_datetime(ns: int) -> datetime:
    """An aware UTC datetime (microsecond precision) from Unix nanoseconds."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _metric_seconds(value: Any) -> float:
    """Unix seconds from a metric timestamp: float seconds, or the scalar's integer ms."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a numeric timestamp")
    # Seconds stay below 1e11 until the year 5138; anything larger is ms (scalar results).
    return value / 1000.0 if abs(value) >= 1e11 else float(value)


def _parse_ns(value: Any) -> int:
    """An entry timestamp: a decimal string of nanoseconds (an int is accepted too)."""
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    if type(value) is int:
        return value
    raise ValueError("entry timestamp must be a string of nanoseconds")


# ------------------------------------------------------------------------- entries --
def stream_key(labels: Mapping[str, str]) -> StreamKey:
    """The hashable identity of a label set (order-independent)."""
    return frozenset(labels.items())


class _EntryFields(NamedTuple):
    ts: int
    line: str
    labels: Mapping[str, str]
    metadata: Mapping[str, str]
    parsed: Mapping[str, str]
    stream: StreamKey


class LogEntry(_EntryFields):
    """One log line: ``ts`` (Unix ns), the raw ``line``, its stream ``labels``, per-entry
    ``metadata`` (structured metadata) and ``parsed`` labels (categorize-labels form only),
    and ``stream``, the hashable identity of ``labels``.

    A tuple, so 100,000 of them are cheap to build and hold; never mutate the mappings (the
    label dicts are shared by every entry of a stream).
    """

    __slots__ = ()

    def __new__(
        cls,
        ts: int,
        line: str,
        labels: Mapping[str, str] = EMPTY_LABELS,
        metadata: Mapping[str, str] = EMPTY_LABELS,
        parsed: Mapping[str, str] = EMPTY_LABELS,
        stream: StreamKey | None = None,
    ) -> Self:
        key = stream_key(labels) if stream is None else stream
        return tuple.__new__(cls, (ts, line, labels, metadata, parsed, key))

    @property
    def key(self) -> tuple[int, StreamKey, str]:
        """Identity for de-duplication: (timestamp, stream labels, line)."""
        return (self.ts, self.stream, self.line)

    @property
    def time(self) -> datetime:
        """The timestamp as an aware UTC datetime (microseconds)."""
        return ns_to_datetime(self.ts)

    def all_labels(self) -> dict[str, str]:
        """Stream labels, structured metadata and parsed labels in one dict (later wins)."""
        return {**self.labels, **self.metadata, **self.parsed}


def _check_labels(value: Any, what: str) -> dict[str, str]:
    if type(value) is not dict:
        raise ValueError(f"{what} must be an object of strings")
    for k, v in value.items():
        if type(v) is not str or type(k) is not str:
            raise ValueError(f"{what} values must be strings")
    return value


class LokiFormatError(ValueError):
    """A Loki body that is not the documented shape: the message names the field path (JSON
    types at most), never a value. ``syntax`` is set for a body that is not JSON at all."""

    def __init__(self, message: str, *, syntax: bool = False, utf8: bool = False) -> None:
        super().__init__(message)
        self.syntax = syntax
        #: The body holds bytes that are not UTF-8 (decoded again with U+FFFD in their place).
        self.utf8 = utf8


# Wire structs of a streams result (gc=False: they form no cycles). An entry is
# ``[ts, line]`` (merged form) or ``[ts, line, {structuredMetadata, parsed}]`` (categorized);
# the decoder is not strict so that the nanosecond string becomes an int in C.
class _WireExtra(msgspec.Struct, gc=False):
    structuredMetadata: dict[str, str] | None = None
    parsed: dict[str, str] | None = None


class _WireEntry(msgspec.Struct, array_like=True, gc=False):
    ts: int
    line: str
    extra: _WireExtra | None = None


class _WireStream(msgspec.Struct, gc=False):
    values: list[_WireEntry]
    stream: dict[str, str] | None = None


class _WireData(msgspec.Struct, gc=False):
    resultType: Any = None
    result: msgspec.Raw = msgspec.Raw(b"null")
    stats: Any = None
    encodingFlags: Any = None
    warnings: Any = None


class _WireQuery(msgspec.Struct, gc=False):
    status: Any = None
    data: _WireData | None | msgspec.UnsetType = msgspec.UNSET
    warnings: Any = None


_STREAMS_TYPE = list[_WireStream]
_STREAMS = msgspec.json.Decoder(_STREAMS_TYPE, strict=False)
_QUERY = msgspec.json.Decoder(_WireQuery)

_EXPECTED = re.compile(r"Expected `([^`]*)`, got `([a-z]+)`")
_MISSING = re.compile(r"Object missing required field `([A-Za-z0-9_]+)`")
_AT = re.compile(r" - at `\$((?:\.[A-Za-z0-9_]+|\[\d+\]|\[\.\.\.\])*)`$")
_SHAPE_WORDS = {"object": "an object", "array": "a list", "str": "a string", "int": "an integer"}


def _format_error(exc: Exception, where: str) -> LokiFormatError:
    """A :class:`LokiFormatError` from a msgspec error: the path and the JSON types only."""
    if isinstance(exc, RecursionError):
        return LokiFormatError(f"{where} is nested too deeply", syntax=True)
    message = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        known = message.startswith(("JSON is malformed", "Input data was truncated", "Invalid UTF-8"))
        return LokiFormatError(
            f"{where} is not valid JSON" + (f" ({message})" if known else ""), syntax=True, utf8="UTF-8" in message
        )
    at = _AT.search(message)
    path = where + (at.group(1) if at else "")
    if (m := _MISSING.match(message)) is not None:
        return LokiFormatError(f"{path}: {m.group(1)} is missing")
    if (m := _EXPECTED.match(message)) is not None:
        expected, got = (" or ".join(_SHAPE_WORDS.get(p.strip(), p.strip()) for p in g.split("|")) for g in m.groups())
        return LokiFormatError(f"{path} is {got}, not {expected}")
    if message.startswith("Expected `array` of"):  # an entry of the wrong length
        return LokiFormatError(f"{path} must be a [timestamp, line] or [timestamp, line, {{…}}] array")
    return LokiFormatError(f"{path}: invalid value")


def _decode_streams(result: Any, where: str) -> list[_WireStream]:
    """Wire streams from the result's bytes (``msgspec.Raw``) or from decoded Python data."""
    try:
        if isinstance(result, msgspec.Raw | bytes):
            return _STREAMS.decode(result)
        return msgspec.convert(result, _STREAMS_TYPE, strict=False)
    except (msgspec.MsgspecError, RecursionError) as exc:
        raise _format_error(exc, where) from None


def parse_streams(result: Any, *, sort: bool = True) -> list[LogEntry]:
    """Entries of a ``streams`` result (merged or categorized form), oldest first.

    ``result`` is the decoded ``data.result`` list (or its bytes). With ``sort`` the order is
    by timestamp (stable: equal timestamps keep response order). Raises
    :class:`LokiFormatError` (a ``ValueError`` naming the place, never a value) on anything
    that is not the documented shape.
    """
    if not isinstance(result, list | msgspec.Raw | bytes):
        raise LokiFormatError("streams result must be a list")  # noqa: TRY004 - ValueError family
    with gc_paused():
        return _entries(_decode_streams(result, "result"), sort=sort)


_INTERN_MAX = 4096


def _entries(streams: list[_WireStream], *, sort: bool) -> list[LogEntry]:
    """Wire streams → entries. Entries of one stream share its labels mapping and identity;
    identical metadata / parsed-label mappings are shared too (most lines carry the same
    ``detected_level``): 100,000 lines then hold a handful of small dicts, not 100,000."""
    out: list[LogEntry] = []
    append = out.append
    new = tuple.__new__
    cls = LogEntry
    empty = EMPTY_LABELS
    shared: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
    same = shared.get
    for stream in streams:
        labels = stream.stream or empty
        key = frozenset(labels.items())
        for entry in stream.values:
            extra = entry.extra
            if extra is None:
                meta = parsed = empty
            else:
                meta = extra.structuredMetadata or empty
                if meta is not empty:
                    items = tuple(meta.items())
                    found = same(items)
                    if found is not None:
                        meta = found
                    elif len(shared) < _INTERN_MAX:
                        shared[items] = meta
                parsed = extra.parsed or empty
                if parsed is not empty:
                    items = tuple(parsed.items())
                    found = same(items)
                    if found is not None:
                        parsed = found
                    elif len(shared) < _INTERN_MAX:
                        shared[items] = parsed
            append(new(cls, (entry.ts, entry.line, labels, meta, parsed, key)))
    if sort:
        out.sort(key=_BY_TS)
    return out


@dataclass(frozen=True)
class StreamsResult:
    """``resultType: "streams"``: log entries, oldest first."""

    entries: list[LogEntry]
    stats: dict[str, Any] | None = None
    #: ``["categorize-labels"]`` when Loki honoured the encoding-flags header.
    encoding_flags: tuple[str, ...] = ()
    result_type: Literal["streams"] = "streams"

    @property
    def categorized(self) -> bool:
        """Whether metadata/parsed labels are separate from stream labels."""
        return "categorize-labels" in self.encoding_flags

    @property
    def exec_time(self) -> float | None:
        """Server-side execution time in seconds (``stats.summary.execTime``), if reported."""
        summary = (self.stats or {}).get("summary")
        value = summary.get("execTime") if isinstance(summary, dict) else None
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


#: ``data`` of ``query``/``query_range``: log lines or a metric result.
LokiQueryData = StreamsResult | VectorResult | MatrixResult | ScalarResult | StringResult


def parse_loki_query_data(data: Any) -> LokiQueryData:
    """Parse the ``data`` of ``query``/``query_range``/``index/volume*``.

    ``streams`` goes through :func:`parse_streams`; vector/matrix/string through the
    Prometheus models; a scalar's integer-millisecond timestamp becomes seconds first.
    Raises ``ValueError`` or a pydantic ``ValidationError`` on a malformed body.
    """
    if not isinstance(data, dict):
        raise ValueError("query data must be an object")
    kind = data.get("resultType")
    stats = data.get("stats") if isinstance(data.get("stats"), dict) else None
    if kind == "streams":
        flags = data.get("encodingFlags") or []
        if not isinstance(flags, list):
            raise ValueError("encodingFlags must be a list")
        return StreamsResult(
            entries=parse_streams(data.get("result")),
            stats=stats,
            encoding_flags=tuple(str(f) for f in flags),
        )
    if kind == "scalar":
        pair = data.get("result")
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError("scalar result must be a [timestamp, value] pair")
        data = {**data, "result": [_metric_seconds(pair[0]), pair[1]]}
    return parse_query_data(data)


class QueryBody(NamedTuple):
    """A ``query``/``query_range`` answer, decoded: the envelope's ``status``, whether it had
    ``data``, the parsed data, and the ``warnings`` of the envelope and of ``data``."""

    status: Any
    has_data: bool
    data: LokiQueryData | None
    warnings: Any
    data_warnings: Any


def decode_query_body(body: bytes) -> QueryBody:
    """A ``query``/``query_range`` body's bytes → :class:`QueryBody`, straight from bytes.

    A ``streams`` result goes from bytes to :class:`LogEntry` tuples without building the
    JSON as Python objects (the cyclic GC paused for a big body); a metric result is decoded
    and parsed as :func:`parse_loki_query_data` does. Raises :class:`LokiFormatError`
    (``syntax`` set for a body that is not JSON) or, for a malformed metric result, what
    :func:`parse_loki_query_data` raises.
    """
    with paused_for_size(len(body)):
        try:
            return _decode_query_body(body)
        except LokiFormatError as exc:
            if not exc.utf8:
                raise
        # A line that is not UTF-8 (kept as-is by Loki): U+FFFD where it stands, the rest kept.
        return _decode_query_body(body.decode("utf-8", errors="replace").encode())


def _decode_query_body(body: bytes) -> QueryBody:
    try:
        wire = _QUERY.decode(body)
    except (msgspec.MsgspecError, RecursionError) as exc:
        raise _format_error(exc, "response") from None
    data = wire.data
    if data is msgspec.UNSET:
        return QueryBody(wire.status, False, None, wire.warnings, None)
    if data is None:
        raise LokiFormatError("query data must be an object")
    stats = data.stats if isinstance(data.stats, dict) else None
    if data.resultType == "streams":
        flags = data.encodingFlags or []
        if not isinstance(flags, list):
            raise LokiFormatError("encodingFlags must be a list")
        result = StreamsResult(
            entries=_entries(_decode_streams(data.result, "data.result"), sort=True),
            stats=stats,
            encoding_flags=tuple(str(f) for f in flags),
        )
    else:
        try:
            raw = msgspec.json.decode(data.result)
        except (msgspec.MsgspecError, RecursionError) as exc:  # e.g. bytes that are not UTF-8
            raise _format_error(exc, "data.result") from None
        plain = {"resultType": data.resultType, "result": raw}
        if data.stats is not None:
            plain["stats"] = data.stats
        result = parse_loki_query_data(plain)
    return QueryBody(wire.status, True, result, wire.warnings, data.warnings)


# ---------------------------------------------------------------------------- tail --
class DroppedEntry(NamedTuple):
    """An entry the server dropped from a tail because the client was too slow."""

    ts: int
    labels: Mapping[str, str]


@dataclass(frozen=True)
class TailFrame:
    """One WebSocket text frame of ``/loki/api/v1/tail``."""

    entries: list[LogEntry]
    dropped: list[DroppedEntry]


def _parse_any_ns(value: Any) -> int:
    if isinstance(value, str) and not value.isdigit():
        try:
            return to_ns(datetime.fromisoformat(value))
        except ValueError:
            raise ValueError("dropped entry timestamp is not a time") from None
    return _parse_ns(value)


def parse_tail_frame(frame: str | bytes | Mapping[str, Any]) -> TailFrame:
    """Parse a tail frame ``{"streams": [...], "dropped_entries": [...]?}``.

    Live frames carry stream labels only (no ``detected_level``, no structured metadata);
    ``dropped_entries`` is absent when nothing was dropped. Raises ``ValueError``.
    """
    if isinstance(frame, str | bytes):
        try:
            frame = json.loads(frame)
        except RecursionError:
            raise ValueError("tail frame is nested too deeply") from None
    if not isinstance(frame, Mapping):
        raise ValueError("tail frame must be an object")
    dropped = []
    for item in frame.get("dropped_entries") or []:
        if not isinstance(item, dict):
            raise ValueError("dropped entry must be an object")
        labels = item.get("labels")
        dropped.append(
            DroppedEntry(
                _parse_any_ns(item.get("timestamp")),
                _check_labels(labels, "dropped entry labels") if labels else EMPTY_LABELS,
            )
        )
    return TailFrame(entries=parse_streams(frame.get("streams") or []), dropped=dropped)


# ----------------------------------------------------------------- small endpoints --
class IndexStats(ApiModel):
    """``/index/stats`` (no envelope). Counts only flushed chunks: zeros do not mean no logs."""

    streams: int
    chunks: int
    bytes: int
    entries: int


class DetectedLabel(ApiModel):
    """One entry of ``/detected_labels``."""

    label: str
    cardinality: int = 0


class DetectedField(ApiModel):
    """One entry of ``/detected_fields``: a field found by a parser, with its type."""

    label: str
    type: str = "string"
    cardinality: int = 0
    parsers: list[str] | None = None
    json_path: list[str] | None = None


class LogPattern(ApiModel):
    """One pattern from ``/patterns``: ``<_>`` marks variable parts; samples are
    ``[unix seconds, count]`` numbers (not strings)."""

    pattern: str
    level: str | None = None
    samples: list[tuple[float, int]] = []

    @field_validator("samples", mode="before")
    @classmethod
    def _null_samples(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def total(self) -> int:
        """Lines matched over the whole range."""
        return sum(count for _, count in self.samples)


_DETECTED_LABELS = TypeAdapter(list[DetectedLabel], config=ADAPTER_CONFIG)
_DETECTED_FIELDS = TypeAdapter(list[DetectedField], config=ADAPTER_CONFIG)
_PATTERNS = TypeAdapter(list[LogPattern], config=ADAPTER_CONFIG)
_STR_LIST = TypeAdapter(list[str], config=ADAPTER_CONFIG)


def parse_detected_labels(body: Any) -> list[DetectedLabel]:
    """``{"detectedLabels": [...]}`` (no envelope)."""
    if not isinstance(body, dict):
        raise ValueError("detected_labels must be an object")
    return _DETECTED_LABELS.validate_python(body.get("detectedLabels") or [])


def parse_detected_fields(body: Any) -> list[DetectedField]:
    """``{"fields": [...], "limit": n}`` (no envelope)."""
    if not isinstance(body, dict):
        raise ValueError("detected_fields must be an object")
    return _DETECTED_FIELDS.validate_python(body.get("fields") or [])


def parse_detected_field_values(body: Any) -> list[str]:
    """``{"values": [...], "limit": n}`` (no envelope)."""
    if not isinstance(body, dict):
        raise ValueError("detected field values must be an object")
    return _STR_LIST.validate_python(body.get("values") or [])


def parse_patterns(data: Any) -> list[LogPattern]:
    """The ``data`` list of ``/patterns`` (``None`` means none found)."""
    return _PATTERNS.validate_python(data or [])
