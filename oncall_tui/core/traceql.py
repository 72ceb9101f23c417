"""Pure TraceQL builders: a service's slow traces, its failing traces, a trace by id.

Values from labels and config (service names!) are untrusted: they go into queries only as
string literals built by :func:`string_literal`, which Tempo's lexer (Go ``text/scanner`` +
``strconv.Unquote``) reads back to exactly the same string, whatever quotes, backslashes,
newlines or invisible characters it holds. Non-printable characters are written as escapes,
so the query a user sees shows them.

TraceQL has no ``order by``: Tempo returns the most recent matches, so "slowest" means "over
a duration threshold", then sorted client-side (:func:`slowest`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from oncall_tui.models.tempo.ids import normalize_trace_id
from oncall_tui.models.tempo.search import TraceSummary

__all__ = [
    "DEFAULT_SLOW_SECONDS",
    "attribute",
    "duration_literal",
    "failing_traces",
    "service_condition",
    "slow_threshold",
    "slow_traces",
    "slowest",
    "string_literal",
    "trace_by_id",
]

#: Threshold for "slow" when nothing better is known (the service's p95 usually is).
DEFAULT_SLOW_SECONDS = 0.5
#: Thresholds below this find every span; not a useful "slow".
MIN_SLOW_SECONDS = 0.001

_SIMPLE_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}
_PLAIN = re.compile(r'[ !#-\[\]-~]*')  # printable ASCII except " and \
# Characters that end an unquoted attribute name in Tempo's lexer (isAttributeRune).
_ATTRIBUTE_PLAIN = re.compile(r'[^\s{}()=~!<>&|^,"\\]+')
_SCOPES = ("span", "resource", "event", "link", "instrumentation", "")
_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us"), (1, "ns"))


def _escape_char(ch: str) -> str:
    if ch in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[ch]
    cp = ord(ch)
    if cp < 0x20 or cp == 0x7F:
        return f"\\x{cp:02x}"
    if 0xD800 <= cp <= 0xDFFF:
        return "\\ufffd"  # a lone surrogate cannot be sent as UTF-8 (nor as \u in Go)
    if ch.isprintable():
        return ch
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


def string_literal(value: str) -> str:
    """``value`` as a TraceQL double-quoted string literal (Go escaping rules)."""
    if _PLAIN.fullmatch(value):
        return f'"{value}"'
    return '"' + "".join(_escape_char(ch) for ch in value) + '"'


def attribute(name: str, scope: str = "span") -> str:
    """An attribute reference: ``span.http.route``, ``resource."odd name"``, ``.any_scope``."""
    if scope not in _SCOPES:
        raise ValueError(f"unknown attribute scope {scope!r}")
    if not name:
        raise ValueError("empty attribute name")
    if _ATTRIBUTE_PLAIN.fullmatch(name):
        return f"{scope}.{name}"
    # Quoted attribute names only understand \" and \\ (lexer.parseQuotedAtrribute).
    return f'{scope}."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def duration_literal(seconds: float) -> str:
    """Seconds as an exact TraceQL duration in the largest fitting unit: ``1.5s``, ``870ms``."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"invalid duration {seconds!r}")
    ns = round(seconds * 1e9)
    for unit, suffix in _UNITS:
        if ns >= unit or unit == 1:
            whole, frac = divmod(ns, unit)
            digits = str(frac).rjust(len(str(unit)) - 1, "0").rstrip("0") if unit > 1 else ""
            return f"{whole}.{digits}{suffix}" if digits else f"{whole}{suffix}"
    raise AssertionError("unreachable")  # pragma: no cover


def slow_threshold(latency_hint: float | None = None) -> float:
    """A readable "slow" threshold in seconds: the hint (e.g. the service's p95 latency)
    rounded down to two significant digits, at least 1 ms; else :data:`DEFAULT_SLOW_SECONDS`."""
    if latency_hint is None or not math.isfinite(latency_hint) or latency_hint <= 0:
        return DEFAULT_SLOW_SECONDS
    exponent = math.floor(math.log10(latency_hint)) - 1
    rounded = math.floor(latency_hint / 10**exponent) * 10**exponent
    return max(round(rounded, 12), MIN_SLOW_SECONDS)


def service_condition(service: str) -> str:
    """``resource.service.name = "<service>"`` with the name safely quoted."""
    return f"resource.service.name = {string_literal(service)}"


def slow_traces(
    service: str,
    threshold: float | None = None,
    *,
    latency_hint: float | None = None,
    server_spans: bool = True,
) -> str:
    """Traces in which ``service`` served a request slower than ``threshold`` seconds.

    Without ``threshold`` it comes from ``latency_hint`` (:func:`slow_threshold`). With
    ``server_spans`` only the service's SERVER spans count (its request latency, as the
    golden signals measure it), not every internal span.
    """
    limit = threshold if threshold is not None else slow_threshold(latency_hint)
    conditions = [service_condition(service)]
    if server_spans:
        conditions.append("kind = server")
    conditions.append(f"duration > {duration_literal(limit)}")
    return "{ " + " && ".join(conditions) + " }"


def failing_traces(service: str | None = None) -> str:
    """Traces with an error span (of ``service`` when given)."""
    if service is None:
        return "{ status = error }"
    return "{ " + service_condition(service) + " && status = error }"


def trace_by_id(trace_id: str) -> str:
    """The search for one trace id (any spelling; normalised to 32 hex, ``InvalidTraceId``)."""
    return "{ trace:id = " + string_literal(normalize_trace_id(trace_id)) + " }"


def slowest(traces: Iterable[TraceSummary], n: int | None = None) -> list[TraceSummary]:
    """Search results, slowest first (ties: most recent first)."""
    ordered = sorted(traces, key=lambda t: (t.duration_ms, t.start_ns), reverse=True)
    return ordered if n is None else ordered[:n]
