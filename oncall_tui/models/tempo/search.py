"""Tempo's search API (``/api/search``, TraceQL ``q=`` or ``tags=``) → :class:`SearchResult`.

Search results use hex ids with leading zeros stripped; :class:`TraceSummary` pads them back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from oncall_tui.models.tempo.ids import (
    InvalidTraceId,
    normalize_span_id,
    normalize_trace_id,
)
from oncall_tui.models.tempo.values import (
    Attrs,
    TempoFormatError,
    find_attr,
    parse_attrs,
    parse_int,
    parse_opt_int,
)

__all__ = ["MatchedSpan", "SearchMetrics", "SearchResult", "ServiceStats", "SpanSet", "TraceSummary", "parse_search"]

@dataclass(slots=True)
class MatchedSpan:
    """A span of a search result's span set (only the attributes the query touched)."""

    span_id: str
    name: str
    start_ns: int
    duration_ns: int
    attributes: Attrs = field(default_factory=list)

    @property
    def service(self) -> str | None:
        return find_attr(self.attributes, "service.name")


@dataclass(slots=True)
class SpanSet:
    """Up to ``spss`` matching spans; ``matched`` is the real number of matches."""

    spans: list[MatchedSpan]
    matched: int


@dataclass(slots=True)
class ServiceStats:
    span_count: int
    error_count: int = 0


@dataclass(slots=True)
class TraceSummary:
    """One trace of a search result. ``trace_id`` is zero-padded back to 32 hex characters."""

    trace_id: str
    root_service: str
    root_name: str
    start_ns: int
    duration_ms: float
    span_sets: list[SpanSet] = field(default_factory=list)
    service_stats: dict[str, ServiceStats] = field(default_factory=dict)

    @property
    def duration_ns(self) -> int:
        return int(self.duration_ms * 1_000_000)

    @property
    def error_count(self) -> int:
        """Error spans across services (0 when the search did not return ``serviceStats``)."""
        return sum(s.error_count for s in self.service_stats.values())

    @property
    def span_count(self) -> int:
        return sum(s.span_count for s in self.service_stats.values())

    @property
    def matched(self) -> int:
        return sum(s.matched for s in self.span_sets)


@dataclass(slots=True)
class SearchMetrics:
    inspected_traces: int | None = None
    inspected_bytes: int | None = None
    completed_jobs: int | None = None
    total_jobs: int | None = None

    @property
    def partial(self) -> bool:
        """Some query jobs did not complete: results may be missing."""
        return (
            self.completed_jobs is not None
            and self.total_jobs is not None
            and self.completed_jobs < self.total_jobs
        )


@dataclass(slots=True)
class SearchResult:
    traces: list[TraceSummary]
    metrics: SearchMetrics = field(default_factory=SearchMetrics)


def _metrics(raw: Any) -> SearchMetrics:
    if type(raw) is not dict:
        return SearchMetrics()
    return SearchMetrics(
        inspected_traces=parse_opt_int(raw.get("inspectedTraces"), "metrics.inspectedTraces", None),
        inspected_bytes=parse_opt_int(raw.get("inspectedBytes"), "metrics.inspectedBytes", None),
        completed_jobs=parse_opt_int(raw.get("completedJobs"), "metrics.completedJobs", None),
        total_jobs=parse_opt_int(raw.get("totalJobs"), "metrics.totalJobs", None),
    )


def _span_set(raw: Any, where: str) -> SpanSet:
    if type(raw) is not dict:
        raise TempoFormatError(f"{where} is not an object")
    spans = []
    for i, sp in enumerate(raw.get("spans") or []):
        w = f"{where}.spans[{i}]"
        if type(sp) is not dict:
            raise TempoFormatError(f"{w} is not an object")
        try:
            span_id = normalize_span_id(sp.get("spanID") or "")
        except ValueError:
            raise TempoFormatError(f"{w}.spanID is missing or not an id") from None
        spans.append(
            MatchedSpan(
                span_id=span_id,
                name=str(sp.get("name") or ""),
                start_ns=parse_int(sp.get("startTimeUnixNano"), f"{w}.startTimeUnixNano"),
                duration_ns=parse_opt_int(sp.get("durationNanos"), f"{w}.durationNanos") or 0,
                attributes=parse_attrs(sp.get("attributes")),
            )
        )
    return SpanSet(spans=spans, matched=parse_opt_int(raw.get("matched"), f"{where}.matched") or len(spans))


def _summary(raw: Any, where: str) -> TraceSummary:
    if type(raw) is not dict:
        raise TempoFormatError(f"{where} is not an object")
    try:
        trace_id = normalize_trace_id(raw.get("traceID") or "")
    except InvalidTraceId:
        raise TempoFormatError(f"{where}.traceID is missing or not a trace id") from None
    duration = raw.get("durationMs")
    if duration is not None and (type(duration) not in (int, float) or math.isnan(duration)):
        try:
            duration = float(duration)
        except (TypeError, ValueError):
            raise TempoFormatError(f"{where}.durationMs is not a number") from None
    sets_raw = raw.get("spanSets")
    if sets_raw is None and raw.get("spanSet") is not None:
        sets_raw = [raw["spanSet"]]  # older Tempo: only the deprecated single copy
    if sets_raw is not None and type(sets_raw) is not list:
        raise TempoFormatError(f"{where}.spanSets is not a list")
    stats_raw = raw.get("serviceStats") or {}
    if type(stats_raw) is not dict:
        raise TempoFormatError(f"{where}.serviceStats is not an object")
    stats = {}
    for svc, st in stats_raw.items():
        if type(st) is not dict:
            raise TempoFormatError(f"{where}.serviceStats entry is not an object")
        stats[str(svc)] = ServiceStats(
            span_count=parse_opt_int(st.get("spanCount"), f"{where}.serviceStats.spanCount") or 0,
            error_count=parse_opt_int(st.get("errorCount"), f"{where}.serviceStats.errorCount") or 0,
        )
    return TraceSummary(
        trace_id=trace_id,
        root_service=str(raw.get("rootServiceName") or ""),
        root_name=str(raw.get("rootTraceName") or ""),
        start_ns=parse_opt_int(raw.get("startTimeUnixNano"), f"{where}.startTimeUnixNano") or 0,
        duration_ms=float(duration or 0),
        span_sets=[_span_set(s, f"{where}.spanSets[{i}]") for i, s in enumerate(sets_raw or [])],
        service_stats=stats,
    )


def parse_search(body: Any) -> SearchResult:
    """``/api/search`` (TraceQL ``q=`` or ``tags=``) → :class:`SearchResult`."""
    if type(body) is not dict or "traces" not in body:
        raise TempoFormatError("search response has no 'traces' list")
    traces = body["traces"] or []
    if type(traces) is not list:
        raise TempoFormatError("'traces' is not a list")
    return SearchResult(
        traces=[_summary(t, f"traces[{i}]") for i, t in enumerate(traces)],
        metrics=_metrics(body.get("metrics")),
    )
