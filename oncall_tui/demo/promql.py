"""What PromQL the demo can answer: the app's golden-signal queries and plain selectors.

The demo does not evaluate PromQL. It recognises the exact expressions
:func:`oncall_tui.core.signals.build_signal_queries` (and ``service_query``/``discovery_query``)
produce for the demo services, with any rate window, and plain selectors such as
``DCGM_FI_DEV_GPU_UTIL{Hostname="gpu-h100-node-1"}`` over a small catalog of raw series.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from oncall_tui.core.budget import burn_ratio_query
from oncall_tui.core.gpu.serving import llm_saturation_queries
from oncall_tui.core.signals import (
    tidy_grouping,
    PRESETS,
    build_signal_queries,
    discovery_query,
    service_query,
)
from oncall_tui.demo.fleet import (
    GPUS,
    LLM_MODEL,
    NAMESPACE,
    SERVICE_BY_NAME,
    SERVICES,
    pod_ip,
)
from oncall_tui.demo.incident import (
    GPU_METRICS,
    INCIDENT_AT,
    NEW_VERSION,
    OLD_VERSION,
    POD_PROFILE,
    PROFILE,
    SCRAPE_INTERVAL,
    SIGNALS,
    DemoIncident,
)
from oncall_tui.models.alertmanager import Matcher
from oncall_tui.settings import Service

Value = Callable[[float], float | None]

_WINDOW = re.compile(r"\[\s*\d+(?:ms|s|m|h|d|w|y)\s*\]")
_WINDOW_PARTS = re.compile(r"\[\s*(\d+)(ms|s|m|h|d|w|y)\s*\]")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
#: Error ratios over windows longer than this are averaged over the window (the error budget's
#: 30d, the burn windows, the incident's duration); shorter ones are the value now.
AVERAGE_ABOVE = 120.0
#: At most this many samples per averaged window (coarser steps for long incidents).
MAX_WINDOW_SAMPLES = 240
_SELECTOR = re.compile(r"\s*(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)?\s*(?:\{(?P<body>.*)\})?\s*", re.DOTALL)
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UNESCAPE = re.compile(r"\\(.)")
_MAX_BY = re.compile(r"max by \([A-Za-z_, ]*\) \(([^()]*)\)")
_TERM = r"max by \([A-Za-z_, ]*\) \([^()]*\)"
_RATIO = re.compile(rf"(?P<a>{_TERM}) / \((?P<b>{_TERM}) \+ (?P<c>{_TERM})\)")


@dataclass(frozen=True)
class RawSeries:
    """One stored series: its labels (with ``__name__``) and its value over time."""

    labels: dict[str, str]
    value: Value


class SelectorError(ValueError):
    """A selector Prometheus would reject (message in Prometheus' words)."""


def normalize(expr: str) -> str:
    """Whitespace collapsed and every ``[5m]``-style window replaced, for matching known queries."""
    return " ".join(_WINDOW.sub("[W]", tidy_grouping(expr)).split())


def parse_selector(expr: str) -> list[Matcher] | None:
    """Matchers of a plain selector ``name{a="b",c=~"d"}``; None if it is anything else."""
    m = _SELECTOR.fullmatch(expr)
    if m is None or (m.group("name") is None and m.group("body") is None):
        return None
    matchers = []
    if m.group("name"):
        if m.group("name") in ("sum", "rate", "max", "min", "avg", "count", "by", "without"):
            return None
        matchers.append(Matcher.exact("__name__", m.group("name")))
    body = (m.group("body") or "").strip()
    pos = 0
    while pos < len(body):
        mm = _MATCHER.match(body, pos)
        if mm is None:
            return None
        name, op, raw = mm.group(1), mm.group(2), _UNESCAPE.sub(r"\1", mm.group(3))
        matchers.append(Matcher(name=name, value=raw, is_regex="~" in op, is_equal=op[0] != "!"))
        pos = mm.end()
    if all(x.matches_value("") for x in matchers):
        raise SelectorError("vector selector must contain at least one non-empty matcher")
    return matchers


def _window_seconds(expr: str) -> float | None:
    """The (first) range window of ``expr`` in seconds, None if it has none."""
    m = _WINDOW_PARTS.search(expr)
    return None if m is None else int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def build_catalog(incident: DemoIncident) -> list[RawSeries]:
    """The raw series the demo stores: ``up``, dcgm-exporter fields and vLLM per-pod gauges."""
    out: list[RawSeries] = []
    for service in SERVICES:
        for i, pod in enumerate(service.pods):
            labels = {"__name__": "up", "instance": f"{pod_ip(service, i)}:{service.port}", "job": service.name,
                      "namespace": NAMESPACE, "pod": pod, "service": service.name}
            out.append(RawSeries(labels, lambda ts: 1.0))
    for host, ip in sorted({(g.hostname, g.node_ip) for g in GPUS}):
        labels = {"__name__": "up", "instance": f"{ip}:9400", "job": "dcgm-exporter", "Hostname": host}
        out.append(RawSeries(labels, lambda ts: 1.0))
    for metric in GPU_METRICS:
        for gpu in GPUS:
            out.append(RawSeries(gpu.labels(metric), lambda ts, m=metric, g=gpu: incident.gpu_value(m, g, ts)))
    llm = SERVICE_BY_NAME["llm-server"]
    for metric in ("vllm:num_requests_waiting", "vllm:gpu_cache_usage_perc"):
        for i, pod in enumerate(llm.pods):
            if pod not in POD_PROFILE:
                continue
            for version in (OLD_VERSION, NEW_VERSION):
                labels = {"__name__": metric, "instance": f"{pod_ip(llm, i)}:{llm.port}", "job": llm.name,
                          "model_name": LLM_MODEL, "model_version": version, "namespace": NAMESPACE,
                          "pod": pod, "service": llm.name}

                def value(ts: float, m: str = metric, p: str = pod, v: str = version) -> float | None:
                    if incident.version("llm-server", ts) != v:
                        return None
                    return incident.pod_value(m, p, ts)

                out.append(RawSeries(labels, value))
    return out


_MARKERS = {
    "vllm": ("vllm:e2e_request_latency_seconds_count", "http_requests_total"),
    "generic-http": ("http_requests_total",),
    "triton": ("nv_inference_request_success",),
    "tgi": ("tgi_request_count",),
}


class QueryBook:
    """Answers the expressions the demo knows; :meth:`series` returns None for the rest."""

    def __init__(self, incident: DemoIncident, services: Sequence[Service]) -> None:
        self.incident = incident
        self.services = list(services)
        self.catalog = build_catalog(incident)
        self._known: dict[str, tuple[str, list[str]]] = {}
        names = [s.name for s in self.services]
        for signal, expr in build_signal_queries(self.services).items():
            wanted = [n for n in names if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", expr)] or names
            self._known[normalize(expr)] = (signal, wanted)
        for service in self.services:
            for signal in SIGNALS:
                expr = service_query(service, signal)
                if expr:
                    self._known.setdefault(normalize(expr), (signal, [service.name]))
        burn = burn_ratio_query(self.services)
        if burn is not None:  # the triage BURN column (the SLO services' 1h error ratio)
            slo_names = [s.name for s in self.services if s.slo.availability]
            self._known.setdefault(normalize(burn), ("errors", slo_names))
        self._known[normalize(discovery_query())] = ("discovery", names)
        for name, expr in llm_saturation_queries().items():
            family = {"vllm": "vllm", "kv": "vllm", "triton": "triton", "tgi": "tgi"}[name.split("_")[0]]
            wanted = [s.name for s in self.services if s.preset == family]
            self._known.setdefault(normalize(expr), (f"llm:{name}", wanted))

    def series(self, expr: str) -> list[RawSeries] | None:
        """The series ``expr`` selects, each with its value function; None when unknown.

        Raises :class:`SelectorError` for selectors Prometheus refuses.
        """
        known = self._known.get(normalize(expr))
        if known is not None:
            signal, names = known
            if signal == "discovery":
                return self._discovery(names)
            window = _window_seconds(expr)
            if signal == "errors" and window is not None and window > AVERAGE_ABOVE:
                return [self._error_ratio_series(n, window) for n in names]
            return [self._signal_series(signal, n) for n in names]
        ratio = _RATIO.fullmatch(expr.strip())
        if ratio is not None:  # used / (used + free): the GPU memory history
            return self._ratio(*(ratio.group(k) for k in ("a", "b", "c")))
        wrapped = _MAX_BY.fullmatch(expr.strip())
        if wrapped is not None:  # one GPU's history: max by (UUID) (DCGM_FI_DEV_GPU_UTIL{UUID="…"})
            expr = wrapped.group(1)
        matchers = parse_selector(expr)
        if matchers is None:
            return None
        return [s for s in self.catalog if all(m.matches(s.labels) for m in matchers)]

    def _ratio(self, a: str, b: str, c: str) -> list[RawSeries] | None:
        parts = [self.series(x) for x in (a, b, c)]
        if any(p is None for p in parts):
            return None

        def key(series: RawSeries) -> tuple[tuple[str, str], ...]:
            return tuple(sorted((k, v) for k, v in series.labels.items() if k != "__name__"))

        others = [{key(x): x for x in p or []} for p in parts[1:]]
        out = []
        for num in parts[0] or []:
            k = key(num)
            if k not in others[0] or k not in others[1]:
                continue
            b_s, c_s = others[0][k], others[1][k]

            def value(ts: float, n: RawSeries = num, x: RawSeries = b_s, y: RawSeries = c_s) -> float | None:
                vals = [n.value(ts), x.value(ts), y.value(ts)]
                if any(v is None for v in vals) or not (vals[1] + vals[2]):  # type: ignore[operator]
                    return None
                return vals[0] / (vals[1] + vals[2])  # type: ignore[operator]

            out.append(RawSeries(dict(k), value))
        return out

    def _signal_series(self, signal: str, name: str) -> RawSeries:
        labels = {"namespace": NAMESPACE, "service": name}
        if signal.startswith("llm:"):
            return RawSeries(labels, lambda ts: self.incident.llm_value(signal[4:], name, ts))
        return RawSeries(labels, lambda ts: self.incident.value(signal, name, ts))

    def _error_ratio_series(self, name: str, window: float) -> RawSeries:
        """The error ratio of ``name`` over ``window`` seconds: errors weighted by traffic, as
        ``sum(rate(errors[w])) / sum(rate(all[w]))`` would be."""
        labels = {"namespace": NAMESPACE, "service": name}
        incident = self.incident
        errors_spec, traffic_spec = PROFILE[name]["errors"], PROFILE[name]["traffic"]

        def compute(ts: float) -> float | None:
            end = incident.sample_time(ts)
            start = end - window * incident.speed
            # Before the incident every service is healthy: its noise averages out, so that
            # part of the window counts at the healthy levels; the rest is sampled.
            quiet = max(min(end, INCIDENT_AT) - start, 0.0)
            bad = errors_spec[0] * traffic_spec[0] * quiet
            total = traffic_spec[0] * quiet
            first = max(start, INCIDENT_AT)
            if end > first:
                step = max(SCRAPE_INTERVAL, (end - first) / MAX_WINDOW_SAMPLES)
                count = int((end - first) // step) + 1
                for i in range(count):
                    wall = incident.wall_time(end - i * step)
                    err, rps = incident.value("errors", name, wall), incident.value("traffic", name, wall)
                    if err is None or rps is None:
                        continue
                    bad += err * rps * step
                    total += rps * step
            return bad / total if total else None

        def value(ts: float) -> float | None:
            key = ("error-ratio", name, window, incident.sample_time(ts))
            return incident.cached(key, lambda: compute(ts))

        return RawSeries(labels, value)

    def _discovery(self, names: list[str]) -> list[RawSeries]:
        out = []
        for service in self.services:
            preset = service.preset or ""
            if service.name not in names or preset not in PRESETS:
                continue
            for metric in _MARKERS.get(preset, ()):
                labels = {"__name__": metric, "service": service.name}
                out.append(RawSeries(labels, lambda ts: 1.0))
        return out

    def all_series(self) -> list[RawSeries]:
        """Everything stored (for ``/labels``, ``/series``): the catalog."""
        return self.catalog
