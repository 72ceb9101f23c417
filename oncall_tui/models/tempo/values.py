"""How Tempo's JSON encodes values: OTLP ``AnyValue`` attributes, 64-bit numbers as decimal
strings, and :class:`TempoFormatError` for a body that does not have the documented shape.

Values stay **raw** (an attribute may hold an escape sequence): display code sanitises them.
Error messages name fields, never echo values.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "Attrs",
    "TempoFormatError",
    "attribute_text",
    "find_attr",
    "parse_attrs",
    "parse_float",
    "parse_int",
    "parse_opt_int",
    "scalar_text",
]

#: ``(key, value as display string)`` pairs, in the order the server sent them (Tempo reorders).
Attrs = list[tuple[str, str]]


class TempoFormatError(ValueError):
    """A Tempo response did not have the documented shape (the message says where)."""


def attribute_text(value: Any) -> str:
    """An OTLP ``AnyValue`` (``{"stringValue": ...}``, ``{"intValue": "7800"}``...) as display text.

    Never raises: odd shapes become a short ``<...>`` marker. The text is raw, not sanitised.
    """
    if type(value) is not dict:
        return "" if value is None else scalar_text(value)
    if not value:
        return ""
    for kind, inner in value.items():
        if kind == "stringValue":
            return inner if type(inner) is str else scalar_text(inner)
        if kind == "intValue":
            return inner if type(inner) is str else scalar_text(inner)
        if kind == "boolValue":
            return "true" if inner is True or inner == "true" else "false"
        if kind == "doubleValue":
            return scalar_text(inner)
        if kind == "arrayValue":
            items = inner.get("values") if type(inner) is dict else None
            return "[" + ", ".join(attribute_text(v) for v in items or ()) + "]"
        if kind == "kvlistValue":
            items = inner.get("values") if type(inner) is dict else None
            return "{" + ", ".join(f"{k}={v}" for k, v in parse_attrs(items)) + "}"
        if kind == "bytesValue":
            return f"<bytes {inner}>"
        return f"<{kind}>"
    return ""


def scalar_text(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is float:
        return repr(value)
    return str(value)


def parse_attrs(raw: Any) -> Attrs:
    """``[{key, value}]`` → ``[(key, text)]``; also accepts a plain mapping (the LLM format)."""
    if not raw:
        return []
    if type(raw) is dict:
        return [(str(k), scalar_text(v) if not isinstance(v, dict) else attribute_text(v)) for k, v in raw.items()]
    if type(raw) is not list:
        return [("<attributes>", f"<malformed: {type(raw).__name__}>")]
    out: Attrs = []
    for item in raw:
        if type(item) is dict:
            out.append((str(item.get("key", "")), attribute_text(item.get("value"))))
        else:
            out.append(("<attribute>", f"<malformed: {type(item).__name__}>"))
    return out


def find_attr(attrs: Attrs, key: str) -> str | None:
    for k, v in attrs:
        if k == key:
            return v
    return None


def parse_int(value: Any, what: str) -> int:
    """A 64-bit number as Tempo sends it (decimal string, or a JSON number)."""
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            pass
    elif type(value) is int:
        return value
    elif type(value) is float and math.isfinite(value):
        return int(value)
    if value is None:
        raise TempoFormatError(f"{what} is missing")
    raise TempoFormatError(f"{what} is not an integer ({type(value).__name__})")


def parse_opt_int(value: Any, what: str, default: int | None = 0) -> int | None:
    return default if value is None else parse_int(value, what)


def parse_float(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TempoFormatError(f"{what} is not a number") from None
