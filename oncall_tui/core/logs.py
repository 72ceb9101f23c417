"""Log drill-down logic, UI-free: LogQL building, alert windows, levels, fields, trace ids,
pattern grouping and the bounded, filterable :class:`LogBuffer`.

Everything here takes raw values (as :mod:`oncall_tui.models.loki` keeps them) and never
raises on hostile log lines: odd input gives ``None``/``"unknown"``, not an exception. Text
meant for the screen goes through :func:`display_line` / :func:`sanitize_for_display`.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from oncall_tui.core.sanitize import MAX_LOG_LINE, sanitize_for_display
from oncall_tui.core.signals import quote
from oncall_tui.models.common import is_valid_label_name, is_zero_time
from oncall_tui.models.loki import EMPTY_LABELS, LogEntry, StreamKey, gc_paused

__all__ = [
    "DEFAULT_LABEL_MAP",
    "DEFAULT_TRACE_ID_RE",
    "LEVELS",
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
    "line_shape",
    "logql_quote",
    "normalize_level",
    "normalize_trace_id",
    "otel_severity_level",
    "parse_fields",
    "pod_label",
    "service_label",
    "stream_source",
    "trace_logs_logql",
]

# ------------------------------------------------------------------------- LogQL --
#: Alert label -> log stream label used by :func:`build_logql` (first match per stream label).
DEFAULT_LABEL_MAP: Mapping[str, str] = MappingProxyType(
    {"service": "service", "namespace": "namespace", "pod": "pod", "app": "app", "job": "job"}
)

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def logql_quote(value: str) -> str:
    """A LogQL double-quoted string literal (Go ``strconv.Unquote`` syntax).

    :func:`oncall_tui.core.signals.quote` escapes ``\\``, ``"`` and newlines; every other
    control character becomes a ``\\uXXXX`` escape so the query stays one inert line.
    """
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", quote(value))


def build_logql(
    labels: Mapping[str, str],
    mapping: Mapping[str, str] = DEFAULT_LABEL_MAP,
    line_filter: str | None = None,
) -> str:
    """A stream selector from an alert's labels: ``{service="x", namespace="y"}``.

    ``mapping`` names which alert labels to use and the stream label each becomes; empty
    values are skipped (Loki needs a non-empty matcher). Raises ``ValueError`` when no label
    maps, or a stream label name is invalid.
    """
    matchers: list[str] = []
    used: set[str] = set()
    for alert_label, stream_label in mapping.items():
        value = labels.get(alert_label)
        if not value or stream_label in used:
            continue
        if not is_valid_label_name(stream_label):
            raise ValueError(f"invalid log stream label name {stream_label!r} in the label mapping")
        matchers.append(f"{stream_label}={logql_quote(value)}")
        used.add(stream_label)
    if not matchers:
        raise ValueError(f"none of the labels {', '.join(mapping)} is set; cannot select log streams")
    query = "{" + ", ".join(matchers) + "}"
    return add_line_filter(query, line_filter) if line_filter else query


def _skip_string(query: str, i: int) -> int:
    """Index just past the string literal starting at ``query[i]`` (``"…"`` or raw `` `…` ``)."""
    quote_char, j, n = query[i], i + 1, len(query)
    while j < n:
        c = query[j]
        if c == "\\" and quote_char == '"':
            j += 2
        elif c == quote_char:
            return j + 1
        else:
            j += 1
    return n


def _selector_ends(query: str) -> list[int]:
    """Positions just after each stream selector's closing brace (braces in strings ignored)."""
    ends: list[int] = []
    opened = False
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c in '"`':
            i = _skip_string(query, i)
            continue
        if c == "{":
            opened = True
        elif c == "}" and opened:
            ends.append(i + 1)
            opened = False
        i += 1
    return ends


def add_line_filter(logql: str, text: str, *, negate: bool = False) -> str:
    """``logql`` with ``|= "text"`` (``!=`` when ``negate``) right after every stream selector.

    Right after the selector is where Loki filters cheapest and before any parser or
    ``line_format`` changes the line; metric queries get it inside their range selector.
    Empty ``text`` returns ``logql`` unchanged; raises ``ValueError`` without a selector.
    """
    if not text:
        return logql
    ends = _selector_ends(logql)
    if not ends:
        raise ValueError("the query has no {stream selector} to filter")
    stage = f" {'!=' if negate else '|='} {logql_quote(text)}"
    out = logql
    for end in reversed(ends):
        out = out[:end] + stage + out[end:]
    return out


# ---------------------------------------------------------- stream conventions --
#: Stream labels that name a service, in the order :func:`service_label` prefers them.
#: ``service_name`` first: Loki 3 sets it on every stream (copied from ``service``, ``app``…
#: when the pusher did not send it), and it is the only one on streams written through the
#: native OTLP endpoint (``service.name``); then the classic Promtail/Alloy conventions.
SERVICE_LABELS: tuple[str, ...] = (
    "service_name",
    "service",
    "app",
    "app_kubernetes_io_name",
    "application",
    "k8s_deployment_name",
    "k8s_statefulset_name",
    "job",
)
#: Stream labels (or structured metadata) that name a pod: the classic ``pod`` first, then
#: ``k8s_pod_name`` (OTLP ``k8s.pod.name``, an index label in Loki's default OTLP config).
POD_LABELS: tuple[str, ...] = ("pod", "k8s_pod_name", "pod_name", "kubernetes_pod_name")
#: Labels tried, in order, for a line's short source (the logs view's pod column).
SOURCE_LABELS: tuple[str, ...] = (
    *POD_LABELS,
    "service",
    "service_name",
    "app",
    "app_kubernetes_io_name",
    "k8s_deployment_name",
    "k8s_statefulset_name",
    "container",
    "k8s_container_name",
    "job",
    "instance",
    "service_instance_id",
)
#: Structured-metadata keys that may hold a trace id, in the order they are trusted
#: (``trace_id`` is what Loki's OTLP endpoint writes).
_TRACE_METADATA_KEYS: tuple[str, ...] = ("trace_id", "traceId", "traceID", "traceid")


def service_label(label_names: Iterable[str]) -> str:
    """The stream label to select a service by, from the label names a Loki has (``/labels``
    or the streams of a response): the first of :data:`SERVICE_LABELS` present, else
    ``service`` (the classic convention, :data:`DEFAULT_LABEL_MAP`)."""
    names = set(label_names)
    return next((label for label in SERVICE_LABELS if label in names), "service")


def pod_label(label_names: Iterable[str]) -> str | None:
    """The label naming a pod (``pod``, else ``k8s_pod_name`` …), or ``None``."""
    names = set(label_names)
    return next((label for label in POD_LABELS if label in names), None)


def stream_source(labels: Mapping[str, str], metadata: Mapping[str, str] = EMPTY_LABELS) -> str | None:
    """A line's short source, raw (sanitise it to show it): the first set of
    :data:`SOURCE_LABELS` in the stream labels; a pod only in structured metadata (Loki's
    advice is to keep ``k8s.pod.name`` out of the index) comes before the service.
    ``None`` when nothing is set."""
    for key in POD_LABELS:
        value = labels.get(key) or metadata.get(key)
        if value:
            return value
    for key in SOURCE_LABELS:
        value = labels.get(key)
        if value:
            return value
    return None


class LogConventions:
    """What a session has learned about how its Loki names things, from the answers it got.

    Pure bookkeeping, no I/O: feed it label names (``/labels``) and query results; ask it
    which label selects a service and whether a service's lines carry the trace id as
    structured metadata (so trace → logs can filter on it instead of matching text).
    Only categorize-labels answers (or a label filter that returned lines) count as proof of
    metadata: in the merged form a ``trace_id`` in ``stream`` may come from a parser.
    """

    def __init__(self) -> None:
        self.label_names: set[str] = set()
        #: Service value -> the structured-metadata key its lines carry the trace id under.
        self._trace_keys: dict[str, str] = {}

    def observe_label_names(self, names: Iterable[str]) -> None:
        """Label names from ``/loki/api/v1/labels`` (or any stream's label keys)."""
        self.label_names.update(n for n in names if isinstance(n, str) and is_valid_label_name(n))

    def observe_entries(self, entries: Iterable[LogEntry], *, categorized: bool, limit: int = 5000) -> None:
        """Stream label names, and (when ``categorized``) which services' lines carry a trace id
        as structured metadata. Looks at most at ``limit`` entries."""
        streams: set[StreamKey] = set()
        traced: set[StreamKey] = set()
        for entry in islice(entries, limit):
            stream = entry.stream
            if stream not in streams:
                streams.add(stream)
                self.observe_label_names(entry.labels)
            if not categorized or stream in traced or not entry.metadata:
                continue
            key = next((k for k in _TRACE_METADATA_KEYS if normalize_trace_id(entry.metadata.get(k))), None)
            if key is None:
                continue  # a line written outside any span says nothing about the others
            traced.add(stream)
            for label in SERVICE_LABELS:
                value = entry.labels.get(label)
                if value:
                    self._trace_keys.setdefault(value, key)

    def note_trace_metadata(self, service: str, key: str = "trace_id") -> None:
        """Record that ``{<service label>="service"} | key="<id>"`` found lines."""
        if service and is_valid_label_name(key):
            self._trace_keys[service] = key

    def trace_metadata_key(self, service: str) -> str | None:
        """The structured-metadata key ``service``'s lines carry the trace id under, if known."""
        return self._trace_keys.get(service)

    @property
    def service_label(self) -> str:
        """:func:`service_label` of the label names seen so far."""
        return service_label(self.label_names)

    @property
    def pod_label(self) -> str | None:
        """:func:`pod_label` of the label names seen so far."""
        return pod_label(self.label_names)


def trace_logs_logql(
    service: str,
    trace_id: str,
    conventions: LogConventions | None = None,
    *,
    label: str | None = None,
    metadata_key: str | None = None,
) -> str:
    """The LogQL of one trace's lines from one service: the single place trace → logs builds it.

    ``{service_name="x"} | trace_id="<id>"`` when ``conventions`` know that the service's
    lines carry the trace id as structured metadata (Loki's OTLP endpoint stores it there and
    never in the text), else the text match ``{service="x"} |= "<id>"``. The service label is
    ``label``, else the conventions' :attr:`LogConventions.service_label`, else ``service``;
    ``metadata_key`` forces the metadata filter on that key (a probe). Values are quoted with
    :func:`logql_quote`. Raises ``ValueError`` for an empty service or trace id, or an invalid
    label name or key.
    """
    trace_id = trace_id.strip()
    if not trace_id:
        raise ValueError("no trace id to look for")
    if label is None:
        label = conventions.service_label if conventions is not None else "service"
    selector = build_logql({"service": service}, {"service": label})
    key = metadata_key
    if key is None and conventions is not None:
        key = conventions.trace_metadata_key(service)
    if key is not None:
        if not is_valid_label_name(key):
            raise ValueError(f"invalid structured metadata key {key!r}")
        return f"{selector} | {key}={logql_quote(normalize_trace_id(trace_id) or trace_id)}"
    return add_line_filter(selector, trace_id)


# ------------------------------------------------------------------- time window --
def alert_window(
    starts_at: datetime,
    ends_at: datetime | None,
    now: datetime,
    *,
    pad_before: timedelta = timedelta(minutes=15),
    pad_after: timedelta = timedelta(minutes=5),
) -> tuple[datetime, datetime]:
    """(start, end) of the logs to show for an alert.

    From ``pad_before`` before it started to ``pad_after`` after it ended, never past
    ``now``. A firing alert (``ends_at`` None, Go's zero time, or in the future, as
    Alertmanager sends it) ends at ``now``. The window is at least ``pad_before`` long.
    """
    if ends_at is None or is_zero_time(ends_at) or ends_at >= now:
        end = now
    else:
        end = min(ends_at + pad_after, now)
    floor = end - pad_before
    if is_zero_time(starts_at):
        return floor, end
    try:
        start = starts_at - pad_before
    except OverflowError:
        return floor, end
    return min(start, floor), end


# ------------------------------------------------------------------------ levels --
#: Normalised levels, most severe first.
LEVELS: tuple[str, ...] = ("critical", "error", "warn", "info", "debug", "trace", "unknown")

_LEVEL_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        ("critical", "crit", "fatal", "panic", "dpanic", "emerg", "emergency", "alert", "severe"), "critical"
    ),
    **dict.fromkeys(("error", "err", "eror", "e"), "error"),
    **dict.fromkeys(("warn", "warning", "wrn", "w"), "warn"),
    **dict.fromkeys(("info", "inf", "information", "informational", "notice", "i"), "info"),
    **dict.fromkeys(("debug", "dbg", "d", "fine"), "debug"),
    **dict.fromkeys(("trace", "trc", "verbose", "finest", "finer"), "trace"),
}
_LINE_LEVEL_KEYS = ("level", "lvl", "severity")
_LOGFMT_LEVEL = re.compile(r'(?:^|\s)(?:level|lvl|severity)="?([A-Za-z]+)')
_BARE_LEVEL = re.compile(r"\b(CRITICAL|FATAL|PANIC|ERROR|WARNING|WARN|INFO|DEBUG|TRACE)\b")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")


#: Where a level is looked for (in this order) in stream labels and in structured metadata.
#: ``severity_text``/``severity_number`` are the OpenTelemetry log record's fields, which
#: Loki's OTLP endpoint keeps as structured metadata (in ``stream`` without categorize-labels).
_LABEL_LEVEL_KEYS = ("level", "detected_level", "severity_text", "severity_number")
_METADATA_LEVEL_KEYS = ("detected_level", "level", "severity_text", "severity_number")
#: OpenTelemetry SeverityNumber ranges (1-4 TRACE … 21-24 FATAL), lowest number of each.
_OTEL_SEVERITY = ((21, "critical"), (17, "error"), (13, "warn"), (9, "info"), (5, "debug"), (1, "trace"))


def otel_severity_level(value: object) -> str:
    """One of :data:`LEVELS` from an OpenTelemetry ``SeverityNumber`` (1-24, as an int or the
    decimal string Loki stores); ``"unknown"`` for 0 (unspecified) or anything else."""
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 3):
            return "unknown"
        value = int(text)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 24:
        for floor, level in _OTEL_SEVERITY:
            if value >= floor:
                return level
    return "unknown"


def normalize_level(value: object) -> str:
    """One of :data:`LEVELS` from a level name (``WARNING``, ``err``…) or a pino/bunyan number."""
    if isinstance(value, str):
        return _LEVEL_ALIASES.get(value.strip().lower(), "unknown")
    if isinstance(value, int) and not isinstance(value, bool):
        for floor, level in ((60, "critical"), (50, "error"), (40, "warn"), (30, "info"), (20, "debug"), (10, "trace")):
            if value >= floor:
                return level
    return "unknown"


def detect_level(
    line: str,
    labels: Mapping[str, str] = EMPTY_LABELS,
    metadata: Mapping[str, str] = EMPTY_LABELS,
    parsed: Mapping[str, str] = EMPTY_LABELS,
) -> str:
    """The level of a log line, first found of: stream label ``level``/``detected_level``/
    ``severity_text``/``severity_number``; structured metadata ``detected_level``/``level``/
    ``severity_text``/``severity_number`` (what Loki's OTLP endpoint stores); parsed
    ``detected_level``; a JSON field ``level``/``lvl``/``severity``; a logfmt ``level=``; a bare
    upper-case level word near the start. ``"unknown"`` otherwise.
    """
    for source, keys in (
        (labels, _LABEL_LEVEL_KEYS),
        (metadata, _METADATA_LEVEL_KEYS),
        (parsed, ("detected_level", "level_extracted", "level")),
    ):
        for key in keys:
            value = source.get(key)
            if value:
                level = otel_severity_level(value) if key == "severity_number" else normalize_level(value)
                if level != "unknown":
                    return level
    try:
        return _line_level(line)
    except Exception:  # noqa: BLE001 - hostile input must never break a log view
        return "unknown"


def _line_level(line: str) -> str:
    head = line.lstrip()[:1]
    if head == "{":
        obj = _json_object(line)
        if obj is not None:
            for key in _LINE_LEVEL_KEYS:
                if key in obj:
                    level = normalize_level(obj[key])
                    if level != "unknown":
                        return level
    match = _LOGFMT_LEVEL.search(line, 0, 4096)
    if match:
        level = normalize_level(match.group(1))
        if level != "unknown":
            return level
    prefix = line[:160]
    if "\x1b" in prefix:
        prefix = _ANSI.sub("", prefix)
    bare = _BARE_LEVEL.search(prefix, 0, 100)
    return normalize_level(bare.group(1)) if bare else "unknown"


def entry_level(entry: LogEntry) -> str:
    """:func:`detect_level` of a :class:`LogEntry`."""
    return detect_level(entry.line, entry.labels, entry.metadata, entry.parsed)


# ------------------------------------------------------------------------ fields --
#: Lines longer than this are not parsed into fields (shown raw).
MAX_FIELDS_LINE = 256 * 1024
_LOGFMT_PAIR = re.compile(r'([^\s="]++)=("(?:[^"\\]++|\\.)*+"|[^\s"]*+)(?=\s|$)')
_LOGFMT_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _json_object(line: str) -> dict[str, Any] | None:
    if len(line) > MAX_FIELDS_LINE:
        return None
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _field_value(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _unquote_logfmt(value: str) -> str:
    if not value.startswith('"'):
        return value
    inner = value[1:-1]
    if "\\" not in inner:
        return inner
    return _ESCAPE.sub(lambda m: _LOGFMT_ESCAPES.get(m.group(1), m.group(0)), inner)


def _logfmt(line: str) -> list[tuple[str, str]] | None:
    if "=" not in line:
        return None
    # One regex pass: [gap, key, value, gap, key, value, …, gap]; logfmt iff every gap is blank.
    parts = _LOGFMT_PAIR.split(line)
    for gap in parts[0::3]:
        if gap and not gap.isspace():
            return None
    return [(key, _unquote_logfmt(value)) for key, value in zip(parts[1::3], parts[2::3], strict=True)] or None


def parse_fields(line: str) -> list[tuple[str, str]] | None:
    """(key, value) pairs, in line order, of a JSON-object or logfmt line; ``None`` otherwise.

    JSON values that are not strings come back as compact JSON (``200``, ``{"a":1}``).
    A line is logfmt only if *every* token is ``key=value``. Never raises.
    """
    try:
        if not isinstance(line, str) or len(line) > MAX_FIELDS_LINE:
            return None
        text = line.strip()
        if text.startswith("{"):
            obj = _json_object(text)
            return None if obj is None else [(str(k), _field_value(v)) for k, v in obj.items()]
        return _logfmt(text)
    except Exception:  # noqa: BLE001 - hostile input must never break a log view
        return None


# --------------------------------------------------------------------- trace ids --
TRACE_ID_KEYS: tuple[str, ...] = ("trace_id", "traceId", "traceID", "traceid", "trace-id", "trace_id_extracted")
#: 32 or 16 hex digits after a ``trace_id``/``traceID``/``trace-id``-like key.
DEFAULT_TRACE_ID_RE = re.compile(r"""(?i)trace[_-]?id["']?\s*[:=]\s*["']?([0-9a-f]{32}|[0-9a-f]{16})(?![0-9a-f])""")
_TRACE_KEYS_LOWER = frozenset(k.lower() for k in TRACE_ID_KEYS)
_TRACE_HEX = re.compile(r"[0-9a-f]{32}|[0-9a-f]{16}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalize_trace_id(value: object) -> str | None:
    """Lower-case hex trace id (32 or 16 digits) from a raw value; also accepts a W3C
    ``traceparent`` or a UUID-formatted id. ``None`` for anything else or all zeros."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip().lower()
    if _TRACEPARENT.fullmatch(text):
        text = text[3:35]
    elif _UUID.fullmatch(text):
        text = text.replace("-", "")
    if not _TRACE_HEX.fullmatch(text) or not text.strip("0"):
        return None
    return text


def extract_trace_id(
    line: str,
    labels: Mapping[str, str] = EMPTY_LABELS,
    metadata: Mapping[str, str] = EMPTY_LABELS,
    parsed: Mapping[str, str] = EMPTY_LABELS,
    *,
    pattern: re.Pattern[str] | str | None = None,
) -> str | None:
    """The trace id of a log line, first found of: structured metadata, parsed labels, stream
    labels (keys :data:`TRACE_ID_KEYS`); a top-level JSON/logfmt field; ``pattern`` (default
    :data:`DEFAULT_TRACE_ID_RE`; group 1, else the whole match). Normalised; never raises."""
    for source in (metadata, parsed, labels):
        for key in TRACE_ID_KEYS:
            found = normalize_trace_id(source.get(key))
            if found:
                return found
    try:
        regex = DEFAULT_TRACE_ID_RE if pattern is None else re.compile(pattern)
        if regex is DEFAULT_TRACE_ID_RE and "race" not in line and "RACE" not in line:
            return None
        fields = parse_fields(line)
        if fields:
            for key, value in fields:
                if key.lower() in _TRACE_KEYS_LOWER:
                    found = normalize_trace_id(value)
                    if found:
                        return found
        match = regex.search(line, 0, MAX_FIELDS_LINE)
        if match:
            return normalize_trace_id(match.group(1) if regex.groups else match.group(0))
    except Exception:  # noqa: BLE001 - hostile input or a bad configured regex
        return None
    return None


def entry_trace_id(entry: LogEntry, *, pattern: re.Pattern[str] | str | None = None) -> str | None:
    """:func:`extract_trace_id` of a :class:`LogEntry`."""
    return extract_trace_id(entry.line, entry.labels, entry.metadata, entry.parsed, pattern=pattern)


# ---------------------------------------------------------------------- patterns --
_SHAPE = re.compile(
    r"""
    (?P<ts>\d{4}-\d{2}-\d{2}[T\ ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)
  | (?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)
  | (?P<ip>\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b)
  | (?P<hex>\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b)
  | (?P<duration>\b\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))*\b)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    """,
    re.VERBOSE,
)
_PLACEHOLDER = {
    "ts": "<ts>",
    "uuid": "<uuid>",
    "ip": "<ip>",
    "hex": "<hex>",
    "duration": "<duration>",
    "num": "<num>",
    "str": "<str>",
}
#: Field values kept verbatim in a structured line's shape, and fields whose text is shaped.
_SHAPE_KEEP = frozenset({"level", "lvl", "severity", "logger", "caller", "component"})
_SHAPE_MESSAGE = frozenset({"msg", "message", "error", "err", "event"})
_MAX_SHAPE_FIELDS = 16 * 1024


@lru_cache(maxsize=4096)
def _shape_text(text: str) -> str:
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return _SHAPE.sub(_placeholder, text)


def _placeholder(match: re.Match[str]) -> str:
    return _PLACEHOLDER[match.lastgroup or "str"]


def _shape_fields(items: Iterable[tuple[str, Any]], max_chars: int) -> str:
    parts = []
    for key, value in islice(items, 64):
        if key in _SHAPE_KEEP:
            parts.append(f"{key}={str(value)[:64]}")
        elif key in _SHAPE_MESSAGE and isinstance(value, str):
            parts.append(f"{key}={_shape_text(value[:max_chars])}")
        else:
            parts.append(f"{key}=<_>")
    return " ".join(parts)


def line_shape(line: str, *, max_chars: int = 512) -> str:
    """The "shape" of a log line: variable parts replaced by placeholders.

    Timestamps, UUIDs, IPs, hex ids, durations, numbers and quoted strings become ``<ts>``,
    ``<uuid>``, ``<ip>``, ``<hex>``, ``<duration>``, ``<num>``, ``<str>``; ANSI escapes are
    dropped. A JSON or logfmt line keeps its keys, its level/logger/caller values and the shape
    of its message; other values become ``<_>``. At most ``max_chars`` of text are shaped.
    """
    try:
        text = line.strip()
        if len(text) <= _MAX_SHAPE_FIELDS:
            if text.startswith("{"):
                obj = _json_object(text)
                if obj is not None:
                    return "{" + _shape_fields(obj.items(), max_chars) + "}"
            else:
                pairs = _logfmt(text)
                if pairs:
                    return _shape_fields(pairs, max_chars)
        return _shape_text(text[:max_chars])
    except Exception:  # noqa: BLE001 - hostile input must never break a log view
        return line[:max_chars]


@dataclass
class PatternGroup:
    """Lines of one shape: how many, the first one seen, and the newest timestamp."""

    shape: str
    count: int
    example: LogEntry
    latest_ns: int

    def display(self, *, max_chars: int = MAX_LOG_LINE) -> str:
        """The shape, made safe to show."""
        return sanitize_for_display(self.shape, max_chars=max_chars)


def group_patterns(entries: Iterable[LogEntry], *, max_chars: int = 512) -> list[PatternGroup]:
    """Group entries by :func:`line_shape`, most frequent first (ties: most recent first)."""
    groups: dict[str, PatternGroup] = {}
    for entry in entries:
        shape = line_shape(entry.line, max_chars=max_chars)
        group = groups.get(shape)
        if group is None:
            groups[shape] = PatternGroup(shape, 1, entry, entry.ts)
        else:
            group.count += 1
            group.latest_ns = max(group.latest_ns, entry.ts)
    return sorted(groups.values(), key=lambda g: (-g.count, -g.latest_ns))


# ------------------------------------------------------------------------ errors --
_GUIDANCE: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"max entries limit per query exceeded.*?\((\d+) > (\d+)\)"),
        (
            "ask for at most {2} lines (the server's limit) and page by time, or narrow the "
            "time range or add a label selector"
        ),
    ),
    (re.compile(r"max entries limit"), "ask for fewer lines: narrow the time range or add a label selector"),
    (
        re.compile(r"query time range exceeds the limit \(query length: ([^,]+), limit: ([^)]+)\)"),
        "narrow the time range to at most {2}",
    ),
    (re.compile(r"time range exceeds the limit|query length"), "narrow the time range"),
    (
        re.compile(r"maximum (?:number )?of series \((\d+)\)"),
        "add a label selector or aggregate (sum by …) to return fewer than {1} series",
    ),
    (re.compile(r"max(?:imum)? (?:number of )?series|series limit"), "add a label selector or aggregate (sum by …)"),
    (
        re.compile(r"too many bytes|max number of chunks|too many chunks"),
        "narrow the time range or add a label selector or a line filter",
    ),
    (re.compile(r"max streams matchers per query"), "use fewer label matchers"),
    (re.compile(r"maximum resolution of"), "widen the step or narrow the time range"),
    (
        re.compile(r"past now - max_query_lookback|no longer available"),
        "the data is older than the server keeps: move the time range later",
    ),
    (
        re.compile(r"log queries are not supported as an instant query"),
        "log lines need a range query, not an instant one",
    ),
    (
        re.compile(r"at least one regexp or equality matcher"),
        'add a label matcher with a non-empty value, e.g. {{service="x"}}',
    ),
    (
        re.compile(r"end timestamp must not be before or equal to start"),
        "the end of the time range must be after its start",
    ),
    (re.compile(r"parse error|syntax error"), "fix the LogQL syntax at the position shown"),
)


def guidance_for(error: object) -> str | None:
    """What the user can do about a rejected Loki query (limit or syntax), or ``None``.

    Takes the exception (``QueryRejected``: its ``message`` and ``status`` are used) or its
    message. Errors outside 4xx get none: those are retried or shown as "down".
    """
    status = getattr(error, "status", None)
    if isinstance(status, int) and not 400 <= status < 500:
        return None
    message = getattr(error, "message", None)
    text = message if isinstance(message, str) else str(error)
    for regex, advice in _GUIDANCE:
        match = regex.search(text)
        if match:
            return advice.format(match.group(0), *match.groups())
    return None


# ------------------------------------------------------------------------ buffer --
#: How much of each line the filter looks at.
MAX_FILTER_CHARS = 64 * 1024
_BY_TS = itemgetter(0)


def _haystack(line: str) -> str:
    text = line[:MAX_FILTER_CHARS]
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    low = text.lower()
    return text if low == text else low  # share the line's memory when already lower-case


def _run_at_end(entries: list[LogEntry], ts: int) -> Iterator[LogEntry]:
    """The entries at the end of ``entries`` whose timestamp is ``ts``."""
    i = len(entries) - 1
    while i >= 0 and entries[i].ts == ts:
        yield entries[i]
        i -= 1


def display_line(entry: LogEntry, *, max_chars: int = MAX_LOG_LINE, multiline: bool = False) -> str:
    """An entry's line made safe to show: control characters visible, long lines cut."""
    return sanitize_for_display(entry.line, multiline=multiline, max_chars=max_chars)


class LogBuffer:
    """The loaded log lines of a view: bounded, sorted by time, de-duplicated, filterable.

    :meth:`extend_newer` (follow mode) drops the oldest entries when full;
    :meth:`extend_older` (scrolling up) drops the newest. :attr:`dropped_oldest` and
    :attr:`dropped_newest` count what went. Entries are unique by (ts, stream labels, line):
    adding one already held (an overlapping page, a follow poll) is a no-op.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.dropped_oldest = 0
        self.dropped_newest = 0
        #: Bumped on every change (a view can tell whether to repaint).
        self.version = 0
        self._entries: list[LogEntry] = []
        self._hay: list[str] = []
        self._last_filter: tuple[int, str, list[int]] | None = None

    # --------------------------------------------------------------- reading --
    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> LogEntry:
        return self._entries[index]

    @property
    def entries(self) -> Sequence[LogEntry]:
        """All entries, oldest first (do not modify)."""
        return self._entries

    @property
    def oldest_ns(self) -> int | None:
        return self._entries[0].ts if self._entries else None

    @property
    def newest_ns(self) -> int | None:
        return self._entries[-1].ts if self._entries else None

    def display_line(self, index: int, *, max_chars: int = MAX_LOG_LINE) -> str:
        """Entry ``index``'s line, made safe to show."""
        return display_line(self._entries[index], max_chars=max_chars)

    # --------------------------------------------------------------- writing --
    def extend_newer(self, entries: Iterable[LogEntry]) -> int:
        """Add entries (follow mode); drop the oldest when over capacity. Returns how many were new."""
        return self._add(entries, newer=True)

    def extend_older(self, entries: Iterable[LogEntry]) -> int:
        """Add older entries (scroll up); drop the newest when over capacity. Returns how many were new."""
        return self._add(entries, newer=False)

    def clear(self) -> None:
        """Forget every entry and reset the drop counters."""
        self._entries, self._hay = [], []
        self._last_filter = None
        self.dropped_oldest = self.dropped_newest = 0
        self.version += 1

    def _add(self, entries: Iterable[LogEntry], *, newer: bool) -> int:
        with gc_paused():
            fresh = self._unique(sorted(entries, key=_BY_TS))
            if not fresh:
                return 0
            added = len(fresh)
            cap = self.max_entries
            if added > cap:  # cut before building haystacks for lines that would go at once
                if newer:
                    self.dropped_oldest += added - cap
                    fresh = fresh[-cap:]
                else:
                    self.dropped_newest += added - cap
                    fresh = fresh[:cap]
            hay = [_haystack(e.line) for e in fresh]
            old = self._entries
            if not old or (fresh[0].ts >= old[-1].ts if newer else fresh[-1].ts <= old[0].ts):
                if newer:
                    old.extend(fresh)
                    self._hay.extend(hay)
                else:
                    old[:0] = fresh
                    self._hay[:0] = hay
            else:  # overlapping times: merge (stable: equal timestamps keep arrival order)
                held = list(zip(old, self._hay, strict=True))
                added_pairs = list(zip(fresh, hay, strict=True))
                pairs = held + added_pairs if newer else added_pairs + held
                pairs.sort(key=lambda p: p[0][0])
                self._entries = [p[0] for p in pairs]
                self._hay = [p[1] for p in pairs]
            over = len(self._entries) - cap
            if over > 0:
                if newer:
                    del self._entries[:over]
                    del self._hay[:over]
                    self.dropped_oldest += over
                else:
                    del self._entries[-over:]
                    del self._hay[-over:]
                    self.dropped_newest += over
            self.version += 1
        return added

    def _unique(self, fresh: list[LogEntry]) -> list[LogEntry]:
        """``fresh`` (sorted) without entries it repeats or that are already buffered.

        Only entries sharing a timestamp can be equal, so only those are compared: the cost
        stays linear, with no key set to hold.
        """
        old = self._entries
        lo, hi = (old[0].ts, old[-1].ts) if old else (1, 0)
        out: list[LogEntry] = []
        append = out.append
        prev_ts = None
        seen: set[tuple[Any, str]] | None = None
        for entry in fresh:
            ts = entry.ts
            if ts != prev_ts:
                prev_ts = ts
                if not lo <= ts <= hi:
                    seen = None
                    append(entry)
                    continue
                i = bisect_left(old, ts, key=_BY_TS)
                seen = set()
                while i < len(old) and old[i].ts == ts:
                    seen.add((old[i].stream, old[i].line))
                    i += 1
            elif seen is None:
                seen = {(e.stream, e.line) for e in _run_at_end(out, ts)}
            key = (entry.stream, entry.line)
            if key not in seen:
                seen.add(key)
                append(entry)
        return out

    # -------------------------------------------------------------- filtering --
    def filter(self, text: str) -> list[int]:
        """Indices of entries whose line contains ``text`` (case-insensitive, ANSI ignored).

        ``!text`` keeps lines *not* containing it (``!`` alone: everything); ``\\!text``
        searches for a literal ``!text``. The whole text is one phrase, spaces included.
        Typing more of the same phrase only re-checks the previous matches.
        """
        negate = text.startswith("!")
        if negate or text.startswith("\\!"):
            text = text[1:]
        if not text:
            return list(range(len(self._hay)))
        needle = text.lower()
        hay = self._hay
        if negate:
            return [i for i, h in enumerate(hay) if needle not in h]
        last = self._last_filter
        if last is not None and last[0] == self.version and last[1] in needle:
            found = [i for i in last[2] if needle in hay[i]]
        else:
            found = [i for i, h in enumerate(hay) if needle in h]
        self._last_filter = (self.version, needle, found)
        return found
