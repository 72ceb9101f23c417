"""Reading a raw log line: its JSON-object or logfmt fields (:func:`parse_fields`), and the ANSI
escape sequences to ignore in it (:data:`ANSI_ESCAPE`). Never raises on hostile lines."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "ANSI_ESCAPE",
    "MAX_FIELDS_LINE",
    "json_object",
    "parse_fields",
    "parse_logfmt",
]

#: ANSI escape sequences (CSI, OSC, two-byte), dropped before looking at a line's text.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")

# ------------------------------------------------------------------------ fields --
#: Lines longer than this are not parsed into fields (shown raw).
MAX_FIELDS_LINE = 256 * 1024
_LOGFMT_PAIR = re.compile(r'([^\s="]++)=("(?:[^"\\]++|\\.)*+"|[^\s"]*+)(?=\s|$)')
_LOGFMT_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def json_object(line: str) -> dict[str, Any] | None:
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


def parse_logfmt(line: str) -> list[tuple[str, str]] | None:
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
            obj = json_object(text)
            return None if obj is None else [(str(k), _field_value(v)) for k, v in obj.items()]
        return parse_logfmt(text)
    except Exception:  # noqa: BLE001 - hostile input must never break a log view
        return None
