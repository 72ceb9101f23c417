"""Models of the Loki HTTP API (v1), as recorded from Loki 3.x (``shared/fixtures/loki``).

Log lines are the hot path (a drill-down may load 100,000 of them), so stream results are
parsed by hand into :class:`LogEntry` tuples without per-entry pydantic validation, reusing
the label dicts ``json.loads`` produced. Everything small (patterns, detected fields, index
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

import gc
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, Self

from pydantic import TypeAdapter, field_validator

from oncall_tui.models.common import ADAPTER_CONFIG, ApiModel, BuildInfo
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
    "LokiQueryData",
    "StreamKey",
    "StreamsResult",
    "TailFrame",
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


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that form no cycles.

    Decoding and loading 100,000 log lines otherwise spends a third of its time in
    collections that find nothing. Nests and works across threads (re-enabled by the last).
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def parse_streams(result: Any, *, sort: bool = True) -> list[LogEntry]:
    """Entries of a ``streams`` result (merged or categorized form), oldest first.

    With ``sort`` the order is by timestamp (stable: equal timestamps keep response order).
    Raises ``ValueError`` (without echoing input) on anything that is not the documented shape.
    """
    if type(result) is not list:
        raise ValueError("streams result must be a list")
    with gc_paused():
        try:
            out = _parse_streams(result)
        except (TypeError, AttributeError, ValueError) as exc:
            # int() and unpacking errors quote the input; keep our own messages only.
            raise ValueError(str(exc) if isinstance(exc, _ShapeError) else "malformed log entry") from None
        if sort:
            out.sort(key=_BY_TS)
    return out


def _all_str(labels: Any) -> bool:
    """Whether ``labels`` is a dict of string values (keys from JSON are strings)."""
    if type(labels) is not dict:
        return False
    for value in labels.values():
        if type(value) is not str:
            return False
    return True


class _ShapeError(ValueError):
    """A streams result that is not the documented shape (message names no input)."""


def _parse_streams(result: list[Any]) -> list[LogEntry]:
    out: list[LogEntry] = []
    append = out.append
    new = tuple.__new__
    cls = LogEntry
    empty = EMPTY_LABELS
    for stream in result:
        if type(stream) is not dict:
            raise _ShapeError("each stream must be an object")
        labels = stream.get("stream")
        if labels:
            try:
                _check_labels(labels, "stream labels")
            except ValueError as exc:
                raise _ShapeError(str(exc)) from None
        else:
            labels = empty
        key = frozenset(labels.items())
        values = stream.get("values")
        if type(values) is not list:
            raise _ShapeError("stream values must be a list")
        for value in values:
            if type(value) is not list:
                raise _ShapeError("each entry must be a [timestamp, line] array")
            if len(value) == 2:
                ts, line = value
                meta = parsed = empty
            else:
                ts, line, extra = value  # ValueError for other lengths
                meta = extra.get("structuredMetadata") or empty
                if meta is not empty and not _all_str(meta):
                    raise _ShapeError("structuredMetadata must be an object of strings")
                parsed = extra.get("parsed") or empty
                if parsed is not empty and not _all_str(parsed):
                    raise _ShapeError("parsed labels must be an object of strings")
            if type(ts) is str:
                if not ts.isdigit():
                    raise _ShapeError("entry timestamp is not a decimal nanosecond string")
                ts = int(ts)
            elif type(ts) is not int:
                raise _ShapeError("entry timestamp must be a string of nanoseconds")
            if type(line) is not str:
                raise _ShapeError("log line must be a string")
            append(new(cls, (ts, line, labels, meta, parsed, key)))
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
