"""Golden-signal PromQL for model-serving stacks: presets, batching and service discovery.

One PromQL per signal for *all* services (``... by (service)``), never one per service: a
50-service triage refresh is six queries, not three hundred. Services of the same preset that
select by their ``service`` label share one aggregation with ``service=~"a|b|c"``; services with
a custom selector or explicit queries are folded in with ``label_replace`` so that every
result series carries ``service="<name>"``; the parts are joined with ``or``.

Presets follow what the servers really export (see ../shared/fixtures/prometheus/README.md):
vLLM's metrics may be stored as ``vllm:*`` or ``vllm_*`` (prometheus/client_python#1177), and
its KV-cache gauge is ``gpu_cache_usage_perc`` in older and ``kv_cache_usage_perc`` in newer
releases, so the presets match names with a regex.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from oncall_tui.text.sanitize import MAX_LABEL_VALUE
from oncall_tui.settings import Service

SIGNALS: tuple[str, ...] = ("traffic", "errors", "latency_p50", "latency_p95", "latency_p99", "saturation")
QUANTILES = {"latency_p50": "0.5", "latency_p95": "0.95", "latency_p99": "0.99"}
SERVICE_LABEL = "service"


@dataclass(frozen=True)
class Preset:
    """PromQL templates of one metric family.

    Placeholders: ``{sel}`` label matchers (inside braces, may be empty), ``{by}`` the grouping
    prefix (``service, `` or empty), ``{w}`` the rate window, ``{q}`` the quantile.
    """

    name: str
    traffic: str
    errors: str
    latency: str
    saturation: str
    saturation_unit: str
    #: A metric whose presence marks a service as using this family (for discovery).
    marker: str


def _ratio(bad: str, total: str) -> str:
    # "or total * 0" keeps services with no error series at 0 % instead of dropping them.
    return f"(({bad}) or ({total}) * 0) / ({total})"


_VLLM_TOTAL = 'sum by ({by}) (rate(http_requests_total{{{sel}}}[{w}]))'
_HTTP_TOTAL = 'sum by ({by}) (rate(http_requests_total{{{sel}}}[{w}]))'

PRESETS: dict[str, Preset] = {
    "vllm": Preset(
        name="vllm",
        traffic='sum by ({by}) (rate({{__name__=~"vllm[:_]e2e_request_latency_seconds_count",{sel}}}[{w}]))',
        errors=_ratio('sum by ({by}) (rate(http_requests_total{{status=~"5.*",{sel}}}[{w}]))', _VLLM_TOTAL),
        latency='histogram_quantile({q}, sum by ({by}le) (rate({{__name__=~"vllm[:_]e2e_request_latency_seconds_bucket",{sel}}}[{w}])))',
        saturation='max by ({by}) ({{__name__=~"vllm[:_](gpu|kv)_cache_usage_perc",{sel}}})',
        saturation_unit="kv-cache",
        marker="vllm[:_]e2e_request_latency_seconds_count",
    ),
    "triton": Preset(
        name="triton",
        traffic='sum by ({by}) (rate({{__name__=~"nv_inference_request_(success|failure)",{sel}}}[{w}]))',
        errors=_ratio(
            "sum by ({by}) (rate(nv_inference_request_failure{{{sel}}}[{w}]))",
            'sum by ({by}) (rate({{__name__=~"nv_inference_request_(success|failure)",{sel}}}[{w}]))',
        ),
        latency='max by ({by}) (nv_inference_request_summary_us{{quantile="{q}",{sel}}}) / 1e6',
        saturation="sum by ({by}) (nv_inference_pending_request_count{{{sel}}})",
        saturation_unit="queue",
        marker="nv_inference_request_success",
    ),
    "tgi": Preset(
        name="tgi",
        traffic="sum by ({by}) (rate(tgi_request_count{{{sel}}}[{w}]))",
        errors=_ratio(
            "sum by ({by}) (rate(tgi_request_failure{{{sel}}}[{w}]))",
            "sum by ({by}) (rate(tgi_request_count{{{sel}}}[{w}]))",
        ),
        latency="histogram_quantile({q}, sum by ({by}le) (rate(tgi_request_duration_bucket{{{sel}}}[{w}])))",
        saturation="sum by ({by}) (tgi_queue_size{{{sel}}})",
        saturation_unit="queue",
        marker="tgi_request_count",
    ),
    "generic-http": Preset(
        name="generic-http",
        traffic=_HTTP_TOTAL,
        errors=_ratio(
            'sum by ({by}) (rate(http_requests_total{{code=~"5..",{sel}}}[{w}])) '
            'or sum by ({by}) (rate(http_requests_total{{status=~"5.*",{sel}}}[{w}]))',
            _HTTP_TOTAL,
        ),
        latency="histogram_quantile({q}, sum by ({by}le) (rate(http_request_duration_seconds_bucket{{{sel}}}[{w}])))",
        saturation="sum by ({by}) (http_requests_in_flight{{{sel}}})",
        saturation_unit="in-flight",
        marker="http_requests_total",
    ),
    "model-server": Preset(
        name="model-server",
        traffic="sum by ({by}) (rate(model_inference_requests_total{{{sel}}}[{w}]))",
        errors=_ratio(
            'sum by ({by}) (rate(model_inference_requests_total{{status="error",{sel}}}[{w}]))',
            "sum by ({by}) (rate(model_inference_requests_total{{{sel}}}[{w}]))",
        ),
        latency="histogram_quantile({q}, sum by ({by}le) (rate(model_inference_duration_seconds_bucket{{{sel}}}[{w}])))",
        saturation="sum by ({by}) (model_server_active_requests{{{sel}}})",
        saturation_unit="in-flight",
        marker="model_inference_requests_total",
    ),
}

#: When a service exports several families, the most specific one wins (vLLM also exports
#: http_requests_total through its HTTP layer).
DISCOVERY_PRIORITY: tuple[str, ...] = ("vllm", "tgi", "triton", "model-server", "generic-http")

_REGEX_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


def quote(value: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def regex_escape(value: str) -> str:
    """Escape RE2 metacharacters so a value matches literally inside ``=~``."""
    return _REGEX_META.sub(r"\\\1", value)


def _template(preset: Preset, signal: str) -> str:
    return preset.latency if signal in QUANTILES else getattr(preset, signal)


_EMPTY_BY = re.compile(r"\b(sum|max|min|avg|count) by \(\s*\) ")
_TRAILING_COMMA_BY = re.compile(r"by \(([^()]*?),\s*\)")


def render_template(template: str, *, sel: str, by: str, window: str, q: str = "") -> str:
    """A preset template filled in, with its grouping tidied: ``by (service, )`` (a template
    whose ``{by}`` is followed by nothing) becomes ``by (service)``, ``sum by () (x)`` ``sum (x)``
    — the same PromQL, as a person would write it for copying."""
    return tidy_grouping(template.format(sel=sel, by=by, w=window, q=q))


def tidy_grouping(expr: str) -> str:
    """``by (service, )`` → ``by (service)``; ``sum by () (x)`` → ``sum (x)`` (same PromQL)."""
    return _EMPTY_BY.sub(r"\1 ", _TRAILING_COMMA_BY.sub(r"by (\1)", expr))


def _render(template: str, *, sel: str, by: str, window: str, signal: str) -> str:
    return render_template(template, sel=sel, by=by, window=window, q=QUANTILES.get(signal, ""))


def by_service_label(service: Service) -> bool:
    return service.selector == {SERVICE_LABEL: service.name}


def force_service(expr: str, name: str) -> str:
    return f'label_replace({expr}, "{SERVICE_LABEL}", {quote(name)}, "", "")'


def service_query(service: Service, signal: str, *, window: str = "1m") -> str | None:
    """The PromQL for one service and signal (what the detail view shows for copying)."""
    explicit = service.queries.configured().get(signal)
    if explicit:
        return explicit
    if service.preset is None:
        return None
    sel = ",".join(f"{k}={quote(v)}" for k, v in sorted(service.selector.items()))
    return _render(_template(PRESETS[service.preset], signal), sel=sel, by="", window=window, signal=signal)


def build_signal_queries(services: Sequence[Service], *, window: str = "1m") -> dict[str, str]:
    """One batched PromQL per signal covering every service; signals nobody defines are left out."""
    queries: dict[str, str] = {}
    for signal in SIGNALS:
        parts: list[str] = []
        grouped: dict[str, list[str]] = {}
        for service in services:
            if signal in service.queries.configured() or (service.preset and not by_service_label(service)):
                expr = service_query(service, signal, window=window)
                if expr:
                    parts.append(force_service(expr, service.name))
            elif service.preset:
                grouped.setdefault(service.preset, []).append(service.name)
        for preset_name in sorted(grouped):
            names = "|".join(regex_escape(n) for n in sorted(grouped[preset_name]))
            sel = f"{SERVICE_LABEL}=~{quote(names)}"
            tmpl = _template(PRESETS[preset_name], signal)
            parts.append(_render(tmpl, sel=sel, by=f"{SERVICE_LABEL}, ", window=window, signal=signal))
        if parts:
            queries[signal] = parts[0] if len(parts) == 1 else " or ".join(f"({p})" for p in parts)
    return queries


def discovery_query() -> str:
    """One query listing which metric families each ``service`` label value exports."""
    markers = "|".join(PRESETS[p].marker for p in DISCOVERY_PRIORITY)
    return f'count by ({SERVICE_LABEL}, __name__) ({{__name__=~"{markers}", {SERVICE_LABEL}!=""}})'


def discover_services(series_labels: Iterable[dict[str, str]]) -> list[Service]:
    """Services from the discovery query's result: one per ``service`` value, best preset."""
    families: dict[str, set[str]] = {}
    for labels in series_labels:
        name, metric = labels.get(SERVICE_LABEL), labels.get("__name__", "")
        if not name or len(name) > MAX_LABEL_VALUE:
            # A 100 KB "service" is not a service anyone pages on; querying it would make
            # every batched PromQL 100 KB longer. It still shows in the alerts list (cut).
            continue
        for preset_name in DISCOVERY_PRIORITY:
            if re.fullmatch(PRESETS[preset_name].marker, metric):
                families.setdefault(name, set()).add(preset_name)
    services = []
    for name in sorted(families):
        best = next(p for p in DISCOVERY_PRIORITY if p in families[name])
        services.append(Service(name=name, preset=best))  # type: ignore[arg-type]
    return services


def saturation_unit(service: Service) -> str:
    """What the saturation column means for this service."""
    if "saturation" in service.queries.configured() or service.preset is None:
        return "ratio"
    return PRESETS[service.preset].saturation_unit
