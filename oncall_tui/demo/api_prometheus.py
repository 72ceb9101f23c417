"""The demo's Prometheus HTTP API (v1), shaped like ``shared/fixtures/prometheus``."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

from oncall_tui.demo.alerts import RULES, evaluate_rule
from oncall_tui.demo.common import (
    NOT_FOUND,
    PROMETHEUS_URL,
    Reply,
    Req,
    go_e,
    json_reply,
    parse_rfc3339,
    prom_ts,
    prom_value,
    rfc3339_ns,
    text_reply,
)
from oncall_tui.demo.fleet import NAMESPACE, SERVICE_BY_NAME, pod_ip
from oncall_tui.demo.incident import DemoIncident
from oncall_tui.demo.promql import QueryBook, RawSeries, SelectorError, parse_selector
from oncall_tui.settings import Service

BUILDINFO = {
    "version": "2.53.0-demo",
    "revision": "oncall-tui-demo",
    "branch": "demo",
    "buildUser": "oncall-tui",
    "buildDate": "20240701-00:00:00",
    "goVersion": "go1.22.4",
}
UNKNOWN_WARNING = "the demo cannot evaluate this expression"
MAX_POINTS = 11_000
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_VLLM_BUCKETS = ("0.3", "0.5", "0.8", "1.0", "1.5", "2.0", "2.5", "5.0", "10.0", "15.0", "20.0", "30.0", "+Inf")
_HTTP_BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf")


def bad_data(message: str, status: int = 400) -> Reply:
    """Prometheus' error envelope."""
    kind = "bad_data" if status == 400 else "execution"
    return json_reply({"status": "error", "errorType": kind, "error": message}, status)


def success(data: Any, warnings: list[str] | None = None) -> Reply:
    """``{status, data}`` plus ``warnings`` when there are any."""
    body: dict[str, Any] = {"status": "success", "data": data}
    if warnings:
        body["warnings"] = warnings
    return json_reply(body)


def parse_time(raw: str, name: str) -> float:
    """Unix seconds (float) or RFC 3339; raises ValueError with Prometheus' message."""
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return parse_rfc3339(raw)
    except ValueError:
        raise ValueError(f'invalid parameter "{name}": cannot parse "{raw}" to a valid timestamp') from None


def parse_duration(raw: str, name: str) -> float:
    """Seconds from ``30``, ``30.5`` or ``1m30s``."""
    try:
        return float(raw)
    except ValueError:
        pass
    parts = _DURATION.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise ValueError(f'invalid parameter "{name}": cannot parse "{raw}" to a valid duration')
    return sum(float(n) * _UNITS[u] for n, u in parts)


class PrometheusApi:
    """Routes ``/api/v1/*``; queries go through a :class:`QueryBook`."""

    def __init__(self, incident: DemoIncident, services: Sequence[Service]) -> None:
        self.incident = incident
        self.book = QueryBook(incident, services)

    def handle(self, req: Req) -> Reply:
        path = req.path
        routes = {
            "/api/v1/query": self.query,
            "/api/v1/query_range": self.query_range,
            "/api/v1/alerts": self.alerts,
            "/api/v1/rules": self.rules,
            "/api/v1/status/buildinfo": lambda r: success(BUILDINFO),
            "/api/v1/labels": self.labels,
            "/api/v1/series": self.series,
            "/api/v1/query_exemplars": self.exemplars,
        }
        if path in routes:
            return routes[path](req)
        if path.startswith("/api/v1/label/") and path.endswith("/values"):
            return self.label_values(req, path[len("/api/v1/label/") : -len("/values")])
        if path in ("/-/ready", "/-/healthy"):
            return text_reply(f"Prometheus Server is {'Ready' if path == '/-/ready' else 'Healthy'}.\n", 200)
        return NOT_FOUND

    # ------------------------------------------------------------------ queries --
    def _select(self, req: Req) -> tuple[list[RawSeries] | None, Reply | None]:
        expr = (req.get("query") or "").strip()
        if not expr:
            return None, bad_data('invalid parameter "query": 1:1: parse error: no expression found in input')
        try:
            return self.book.series(expr), None
        except SelectorError as exc:
            return None, bad_data(f'invalid parameter "query": 1:1: parse error: {exc}')

    def query(self, req: Req) -> Reply:
        found, error = self._select(req)
        if error:
            return error
        now = self.incident.now()
        try:
            ts = parse_time(req.get("time"), "time") if req.get("time") else now
        except ValueError as exc:
            return bad_data(str(exc))
        if found is None:
            return success({"resultType": "vector", "result": []}, [UNKNOWN_WARNING])
        at = min(ts, now)
        result = []
        for s in found:
            v = s.value(at)
            if v is not None:
                result.append({"metric": s.labels, "value": [prom_ts(ts), prom_value(v)]})
        return success({"resultType": "vector", "result": result})

    def query_range(self, req: Req) -> Reply:
        try:
            start = parse_time(req.get("start") or "", "start")
            end = parse_time(req.get("end") or "", "end")
            step = parse_duration(req.get("step") or "", "step")
        except ValueError as exc:
            return bad_data(str(exc))
        if end < start:
            return bad_data('invalid parameter "end": end timestamp must not be before start time')
        if step <= 0:
            return bad_data(
                'invalid parameter "step": zero or negative query resolution step widths are not accepted. '
                "Try a positive integer"
            )
        if (end - start) / step > MAX_POINTS:
            return bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        found, error = self._select(req)
        if error:
            return error
        if found is None:
            return success({"resultType": "matrix", "result": []}, [UNKNOWN_WARNING])
        now = self.incident.now()
        count = math.floor((end - start) / step + 1e-9) + 1
        times = [t for t in (start + i * step for i in range(count)) if t <= now]
        result = []
        for s in found:
            values = [[prom_ts(t), prom_value(v)] for t in times if (v := s.value(t)) is not None]
            if values:
                result.append({"metric": s.labels, "values": values})
        return success({"resultType": "matrix", "result": result})

    # ------------------------------------------------------------------- alerts --
    def alerts(self, req: Req) -> Reply:
        alerts = [_prom_alert(a) for a in self.incident.alerts()]
        return success({"alerts": alerts})

    def rules(self, req: Req) -> Reply:
        kind = req.get("type")
        if kind not in (None, "", "alert", "record"):
            return bad_data(f'invalid parameter "type": unsupported rule type "{kind}"')
        now = self.incident.now()
        groups: dict[str, list[dict[str, Any]]] = {}
        for rule in RULES:
            if kind == "record":
                break
            alert = evaluate_rule(self.incident, rule, now)
            groups.setdefault(rule.group, []).append(
                {
                    "state": alert.state if alert else "inactive",
                    "name": rule.name,
                    "query": rule.query,
                    "duration": rule.for_s,
                    "keepFiringFor": 0,
                    "labels": rule.labels,
                    "annotations": rule.annotations,
                    "alerts": [_prom_alert(alert)] if alert else [],
                    "health": "ok",
                    "evaluationTime": 0.000512,
                    "lastEvaluation": rfc3339_ns(now - (now % 15)),
                    "type": "alerting",
                }
            )
        data = [
            {
                "name": name,
                "file": "/etc/prometheus/rules/demo.yml",
                "rules": rules,
                "interval": 15,
                "limit": 0,
                "evaluationTime": 0.0021,
                "lastEvaluation": rfc3339_ns(now - (now % 15)),
            }
            for name, rules in sorted(groups.items())
        ]
        return success({"groups": data})

    # ----------------------------------------------------------------- metadata --
    def _matching(self, req: Req) -> list[RawSeries] | Reply:
        selectors = req.getall("match[]")
        if not selectors:
            return self.book.all_series()
        out: list[RawSeries] = []
        for sel in selectors:
            try:
                matchers = parse_selector(sel)
            except SelectorError as exc:
                return bad_data(f"1:1: parse error: {exc}")
            if matchers is None:
                return bad_data(f'1:1: parse error: unexpected expression "{sel}" in series selector')
            out += [s for s in self.book.all_series() if all(m.matches(s.labels) for m in matchers) and s not in out]
        return out

    def labels(self, req: Req) -> Reply:
        found = self._matching(req)
        if isinstance(found, Reply):
            return found
        return success(sorted({k for s in found for k in s.labels}))

    def label_values(self, req: Req, name: str) -> Reply:
        found = self._matching(req)
        if isinstance(found, Reply):
            return found
        return success(sorted({s.labels[name] for s in found if name in s.labels}))

    def series(self, req: Req) -> Reply:
        if not req.getall("match[]"):
            return bad_data("no match[] parameter provided")
        found = self._matching(req)
        if isinstance(found, Reply):
            return found
        return success([s.labels for s in found])

    def exemplars(self, req: Req) -> Reply:
        expr = req.get("query") or ""
        if not expr.strip():
            return bad_data('invalid parameter "query": 1:1: parse error: no expression found in input')
        now = self.incident.now()
        try:
            end = parse_time(req.get("end"), "end") if req.get("end") else now
            start = parse_time(req.get("start"), "start") if req.get("start") else end - 3600
        except ValueError as exc:
            return bad_data(str(exc))
        named = {n for n in ("llm-server", "feature-store") if n in expr}
        wanted = named or ({"llm-server", "feature-store"} if not any(s in expr for s in SERVICE_BY_NAME) else set())
        series: dict[tuple[tuple[str, str], ...], list[dict[str, Any]]] = {}
        for n, trace in enumerate(self.incident.traces(start, end)):
            if n >= 200:
                break
            for labels, span in _exemplar_points(trace, wanted):
                exemplar = {"labels": {"span_id": span.span_id, "trace_id": trace.trace_id},
                            "value": prom_value(round(span.duration, 6)), "timestamp": prom_ts(span.end)}
                series.setdefault(tuple(sorted(labels.items())), []).insert(0, exemplar)
        data = [{"seriesLabels": dict(k), "exemplars": v} for k, v in sorted(series.items())]
        return success(data)


def _bucket(value: float, buckets: tuple[str, ...]) -> str:
    return next(b for b in buckets if b == "+Inf" or value <= float(b))


def _exemplar_points(trace: Any, wanted: set[str]) -> list[tuple[dict[str, str], Any]]:
    out = []
    if "llm-server" in wanted:
        llm = SERVICE_BY_NAME["llm-server"]
        i = llm.pods.index(trace.llm_pod)
        labels = {"__name__": "vllm:e2e_request_latency_seconds_bucket", "instance": f"{pod_ip(llm, i)}:{llm.port}",
                  "job": llm.name, "le": _bucket(trace.root.duration, _VLLM_BUCKETS), "model_name": "llama-3.1-70b-instruct",
                  "model_version": trace.version, "namespace": NAMESPACE, "pod": trace.llm_pod, "service": llm.name}
        out.append((labels, trace.root))
    fs_span = trace.span("GET /features")
    if "feature-store" in wanted and fs_span is not None:
        fs = SERVICE_BY_NAME["feature-store"]
        i = fs.pods.index(trace.fs_pod)
        labels = {"__name__": "http_request_duration_seconds_bucket", "handler": "/features",
                  "instance": f"{pod_ip(fs, i)}:{fs.port}", "job": fs.name, "le": _bucket(fs_span.duration, _HTTP_BUCKETS),
                  "method": "GET", "namespace": NAMESPACE, "pod": trace.fs_pod, "service": fs.name}
        out.append((labels, fs_span))
    return out


def _prom_alert(alert: Any) -> dict[str, Any]:
    return {
        "labels": alert.labels,
        "annotations": alert.annotations,
        "state": alert.state,
        "activeAt": rfc3339_ns(alert.active_at),
        "value": go_e(alert.value),
    }


def generator_url(query: str) -> str:
    """Prometheus' link to the rule's expression."""
    return f"{PROMETHEUS_URL}/graph?g0.expr={quote_plus(query)}&g0.tab=1"


__all__ = ["PrometheusApi", "generator_url"]
