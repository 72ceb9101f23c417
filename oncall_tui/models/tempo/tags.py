"""Tempo's tag API: tag names (v2 by scope, v1 unscoped) and tag values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oncall_tui.models.tempo.values import TempoFormatError, scalar_text

__all__ = ["UNSCOPED", "TagValue", "parse_tag_names", "parse_tag_values"]

#: Scope key :func:`parse_tag_names` uses for v1's unscoped ``tagNames`` list.
UNSCOPED = "unscoped"


@dataclass(slots=True, frozen=True)
class TagValue:
    """A tag value; ``type`` is v2's (``string``, ``int``, ``keyword``...), empty from v1."""

    value: str
    type: str = ""


def parse_tag_names(body: Any) -> dict[str, list[str]]:
    """v2 ``{"scopes": [{name, tags}]}`` → ``{scope: tags}``; v1 ``{"tagNames": [...]}`` →
    ``{UNSCOPED: tags}``."""
    if type(body) is not dict:
        raise TempoFormatError("tag names response is not an object")
    if "scopes" in body:
        scopes = body["scopes"] or []
        if type(scopes) is not list:
            raise TempoFormatError("'scopes' is not a list")
        out: dict[str, list[str]] = {}
        for i, sc in enumerate(scopes):
            if type(sc) is not dict or type(sc.get("tags") or []) is not list:
                raise TempoFormatError(f"scopes[{i}] is not {{name, tags: [...]}}")
            out.setdefault(str(sc.get("name") or UNSCOPED), []).extend(str(t) for t in sc.get("tags") or [])
        return out
    if "tagNames" in body:
        names = body["tagNames"] or []
        if type(names) is not list:
            raise TempoFormatError("'tagNames' is not a list")
        return {UNSCOPED: [str(n) for n in names]}
    raise TempoFormatError("tag names response has neither 'scopes' nor 'tagNames'")


def parse_tag_values(body: Any) -> list[TagValue]:
    """v2 ``{"tagValues": [{type, value}]}`` or v1 ``{"tagValues": ["..."]}`` → values."""
    if type(body) is not dict or "tagValues" not in body:
        raise TempoFormatError("tag values response has no 'tagValues'")
    values = body["tagValues"] or []
    if type(values) is not list:
        raise TempoFormatError("'tagValues' is not a list")
    out = []
    for i, v in enumerate(values):
        if type(v) is dict:
            out.append(TagValue(value=scalar_text(v.get("value", "")), type=str(v.get("type") or "")))
        elif isinstance(v, str | int | float):
            out.append(TagValue(value=scalar_text(v)))
        else:
            raise TempoFormatError(f"tagValues[{i}] is neither a string nor {{type, value}}")
    return out
