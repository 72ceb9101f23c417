"""Trace ids in log lines: normalising any spelling (:func:`normalize_trace_id`) and finding one
in metadata, labels, fields or the text (:func:`extract_trace_id`)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from oncall_tui.core.logs.fields import MAX_FIELDS_LINE, parse_fields
from oncall_tui.models.loki import EMPTY_LABELS, LogEntry

__all__ = [
    "DEFAULT_TRACE_ID_RE",
    "TRACE_ID_KEYS",
    "entry_trace_id",
    "extract_trace_id",
    "normalize_trace_id",
]

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
