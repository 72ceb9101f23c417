"""TraceQL metrics (``/api/metrics/query_range``, ``/api/metrics/query``) → :class:`MetricSeries`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oncall_tui.models.tempo.values import (
    TempoFormatError,
    parse_attrs,
    parse_float,
    parse_int,
)

__all__ = ["MetricSeries", "parse_metrics"]

@dataclass(slots=True)
class MetricSeries:
    """A TraceQL-metrics series: labels, and ``(timestamp ms, value)`` samples (range query)
    or one ``value`` (instant query). Samples Tempo sent without a value are 0 (proto3)."""

    labels: dict[str, str]
    samples: list[tuple[int, float]] = field(default_factory=list)
    value: float | None = None


def parse_metrics(body: Any) -> list[MetricSeries]:
    """``/api/metrics/query_range`` or ``/api/metrics/query`` → series."""
    if type(body) is not dict or "series" not in body:
        raise TempoFormatError("metrics response has no 'series'")
    series = body["series"] or []
    if type(series) is not list:
        raise TempoFormatError("'series' is not a list")
    out = []
    for i, s in enumerate(series):
        if type(s) is not dict:
            raise TempoFormatError(f"series[{i}] is not an object")
        samples = []
        for j, smp in enumerate(s.get("samples") or []):
            if type(smp) is not dict:
                raise TempoFormatError(f"series[{i}].samples[{j}] is not an object")
            samples.append(
                (
                    parse_int(smp.get("timestampMs"), f"series[{i}].samples[{j}].timestampMs"),
                    parse_float(smp.get("value", 0.0), f"series[{i}].samples[{j}].value"),
                )
            )
        value = s.get("value")
        out.append(
            MetricSeries(
                labels=dict(parse_attrs(s.get("labels"))),
                samples=samples,
                value=None if value is None else parse_float(value, f"series[{i}].value"),
            )
        )
    return out
