"""The level of a log line, normalised to :data:`LEVELS`: from stream labels, structured metadata
(OpenTelemetry ``severity_text``/``severity_number``), parsed labels, or the line itself (JSON,
logfmt, a bare level word)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from oncall_tui.core.logs.fields import ANSI_ESCAPE, json_object
from oncall_tui.models.loki import EMPTY_LABELS, LogEntry

__all__ = [
    "LEVELS",
    "detect_level",
    "entry_level",
    "normalize_level",
    "otel_severity_level",
]

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
        obj = json_object(line)
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
        prefix = ANSI_ESCAPE.sub("", prefix)
    bare = _BARE_LEVEL.search(prefix, 0, 100)
    return normalize_level(bare.group(1)) if bare else "unknown"


def entry_level(entry: LogEntry) -> str:
    """:func:`detect_level` of a :class:`LogEntry`."""
    return detect_level(entry.line, entry.labels, entry.metadata, entry.parsed)
