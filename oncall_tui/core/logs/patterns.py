"""Pattern grouping: the "shape" of a log line with its variable parts replaced by placeholders
(:func:`line_shape`), and lines grouped by shape (:func:`group_patterns`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Any

from oncall_tui.core.logs.fields import ANSI_ESCAPE, json_object, parse_logfmt
from oncall_tui.models.loki import LogEntry
from oncall_tui.text.sanitize import MAX_LOG_LINE, sanitize_for_display

__all__ = [
    "PatternGroup",
    "group_patterns",
    "line_shape",
]

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
        text = ANSI_ESCAPE.sub("", text)
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
                obj = json_object(text)
                if obj is not None:
                    return "{" + _shape_fields(obj.items(), max_chars) + "}"
            else:
                pairs = parse_logfmt(text)
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
