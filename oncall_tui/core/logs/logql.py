"""Building LogQL safely: string literals (:func:`logql_quote`), stream selectors from an alert's
labels (:func:`build_logql`) and line filters after every selector (:func:`add_line_filter`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from oncall_tui.core.signals import quote
from oncall_tui.models.common import is_valid_label_name

__all__ = [
    "DEFAULT_LABEL_MAP",
    "add_line_filter",
    "build_logql",
    "logql_quote",
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
