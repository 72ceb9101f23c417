"""The demo's alerting rules, evaluated with Prometheus semantics against the story.

An alert is *pending* from the moment its condition holds (``activeAt``) and *firing* once it
has held for ``for``. Conditions are tested on the noiseless story values, so states do not
flicker; the alert ``value`` and annotations use the same numbers the dashboards show.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote_plus

from oncall_tui.demo.common import PROMETHEUS_URL
from oncall_tui.demo.fleet import GPU_BY_KEY, NAMESPACE

if TYPE_CHECKING:
    from oncall_tui.demo.incident import DemoIncident

RUNBOOKS = "https://runbooks.example.com"
WATCHDOG_SINCE = -3600.0
"""Story time at which the demo Prometheus started (and Watchdog began firing)."""


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule: a PromQL shown to users plus how the story decides its condition."""

    name: str
    group: str
    query: str
    for_s: float
    labels: dict[str, str]
    annotations: dict[str, str]
    #: ``(kind, level)`` for :meth:`DemoIncident.episode`, or None for "always true".
    condition: Callable[[DemoIncident], tuple[str, float] | None]
    #: The alert's value at a wall time.
    value: Callable[[DemoIncident, float], float]
    #: Labels the expression's result series carries.
    series_labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertInstance:
    """An alert at one moment, as Prometheus holds it (no external labels)."""

    rule: AlertRule
    labels: dict[str, str]
    annotations: dict[str, str]
    state: Literal["pending", "firing"]
    active_at: float
    """Wall time the condition started holding (Prometheus' ``activeAt``)."""
    fired_at: float | None
    """Wall time it started firing (Alertmanager's ``startsAt``); None while pending."""
    value: float

    @property
    def alertname(self) -> str:
        """The rule's name."""
        return self.rule.name


_GPU0 = GPU_BY_KEY["gpu-h100-node-1/0"]
_GPU_LABELS = {k: v for k, v in _GPU0.labels("x").items() if k != "__name__"}


def _llm(signal: str, threshold: float, service: str = "llm-server") -> Callable[[DemoIncident], tuple[str, float]]:
    return lambda inc: ("llm", inc.level_for(signal, service, threshold))


def _signal(signal: str, service: str) -> Callable[[DemoIncident, float], float]:
    return lambda inc, ts: inc.value(signal, service, ts) or 0.0


def _fb_ratio(inc: DemoIncident, ts: float) -> float:
    used = inc.gpu_value("DCGM_FI_DEV_FB_USED", _GPU0, ts) or 0.0
    free = inc.gpu_value("DCGM_FI_DEV_FB_FREE", _GPU0, ts) or 0.0
    return used / (used + free) if used + free else 0.0


_ERRORS_EXPR = (
    'sum by (namespace, service) (rate(http_requests_total{{service="{s}",status=~"5.."}}[1m])) '
    '/ sum by (namespace, service) (rate(http_requests_total{{service="{s}"}}[1m]))'
)
_P99_EXPR = 'histogram_quantile(0.99, sum by (namespace, service, le) (rate({m}{{service="{s}"}}[1m])))'

RULES: tuple[AlertRule, ...] = (
    AlertRule(
        name="GPUFramebufferMemoryHigh",
        group="gpu.alerts",
        query="DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 0.95",
        for_s=30,
        labels={"severity": "warning", "team": "gpu-infra"},
        annotations={
            "description": "{{ $labels.modelName }} ({{ $labels.UUID }}) serving pod {{ $labels.pod }}.",
            "runbook_url": f"{RUNBOOKS}/gpu/framebuffer-memory",
            "summary": "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} uses {{ $value | humanizePercentage }} of its memory",
        },
        condition=lambda inc: ("gpu", (0.95 - 0.90) / (0.97 - 0.90)),
        value=_fb_ratio,
        series_labels=_GPU_LABELS,
    ),
    AlertRule(
        name="Watchdog",
        group="meta.alerts",
        query="vector(1)",
        for_s=0,
        labels={"severity": "none"},
        annotations={"summary": "Always firing; proves the alerting pipeline works end to end."},
        condition=lambda inc: None,
        value=lambda inc, ts: 1.0,
    ),
    AlertRule(
        name="FeatureStoreLatencyHigh",
        group="model-serving.alerts",
        query=_P99_EXPR.format(m="http_request_duration_seconds_bucket", s="feature-store") + " > 1",
        for_s=600,
        labels={"severity": "warning", "team": "ml-platform"},
        annotations={
            "description": "p99 latency of {{ $labels.service }} has been above 1s for 10m (slow cache-miss path).",
            "runbook_url": f"{RUNBOOKS}/model-serving/feature-store-latency",
            "summary": "{{ $labels.service }} p99 latency is {{ $value | humanizeDuration }}",
        },
        condition=_llm("latency_p99", 1.0, "feature-store"),
        value=_signal("latency_p99", "feature-store"),
        series_labels={"namespace": NAMESPACE, "service": "feature-store"},
    ),
    AlertRule(
        name="LLMServerHighErrorRate",
        group="model-serving.alerts",
        query=_ERRORS_EXPR.format(s="llm-server") + " > 0.01",
        for_s=30,
        labels={"severity": "critical", "team": "ml-platform"},
        annotations={
            "dashboard_url": f"{PROMETHEUS_URL}/graph?g0.expr=" + quote_plus(_ERRORS_EXPR.format(s="llm-server")),
            "description": "More than 1% of requests to {{ $labels.service }} in namespace {{ $labels.namespace }} "
            "have failed for at least 30s (currently {{ $value | humanizePercentage }}).",
            "runbook_url": f"{RUNBOOKS}/model-serving/high-error-rate",
            "summary": "{{ $labels.service }} is failing {{ $value | humanizePercentage }} of requests",
        },
        condition=_llm("errors", 0.01),
        value=_signal("errors", "llm-server"),
        series_labels={"namespace": NAMESPACE, "service": "llm-server"},
    ),
    AlertRule(
        name="LLMServerHighLatencyP99",
        group="model-serving.alerts",
        query=_P99_EXPR.format(m="vllm:e2e_request_latency_seconds_bucket", s="llm-server") + " > 2",
        for_s=30,
        labels={"severity": "warning", "team": "ml-platform"},
        annotations={
            "description": "p99 request latency of {{ $labels.service }} has been above 2s for 30s.",
            "runbook_url": f"{RUNBOOKS}/model-serving/high-latency",
            "summary": "{{ $labels.service }} p99 latency is {{ $value | humanizeDuration }}",
        },
        condition=_llm("latency_p99", 2.0),
        value=_signal("latency_p99", "llm-server"),
        series_labels={"namespace": NAMESPACE, "service": "llm-server"},
    ),
)
RULE_BY_NAME = {r.name: r for r in RULES}

_TEMPLATE = re.compile(r"\{\{\s*\$(labels\.(\w+)|value)\s*(?:\|\s*(\w+)\s*)?\}\}")


def render(template: str, labels: dict[str, str], value: float) -> str:
    """Expand the few Go-template forms the rules use (``$labels.x``, ``$value | humanize…``)."""

    def one(m: re.Match[str]) -> str:
        if m.group(2):
            return labels.get(m.group(2), "")
        fn = m.group(3)
        if fn == "humanizePercentage":
            return f"{value * 100:.4g}%"
        if fn == "humanizeDuration":
            return f"{value:.3g}s" if value >= 1 else f"{value * 1000:.3g}ms"
        return f"{value:.4g}"

    return _TEMPLATE.sub(one, template)


def rule_window(incident: DemoIncident, rule: AlertRule) -> tuple[float, float | None] | None:
    """Story times ``(start, end)`` during which the rule's condition holds (None: never)."""
    condition = rule.condition(incident)
    if condition is None:
        return WATCHDOG_SINCE, None
    return incident.episode(*condition)


def evaluate_rule(incident: DemoIncident, rule: AlertRule, ts: float) -> AlertInstance | None:
    """The rule's alert at wall time ``ts``, or None while inactive."""
    window = rule_window(incident, rule)
    if window is None:
        return None
    t = incident.story_time(ts)
    start, end = window
    if t < start or (end is not None and t >= end):
        return None
    firing = t - start >= rule.for_s
    labels = {"alertname": rule.name, **rule.series_labels, **rule.labels}
    value = rule.value(incident, ts)
    return AlertInstance(
        rule=rule,
        labels=dict(sorted(labels.items())),
        annotations={k: render(v, labels, value) for k, v in sorted(rule.annotations.items())},
        state="firing" if firing else "pending",
        active_at=incident.wall_time(start),
        fired_at=incident.wall_time(start + rule.for_s) if firing else None,
        value=value,
    )


def evaluate_alerts(incident: DemoIncident, ts: float) -> list[AlertInstance]:
    """Every pending or firing alert at wall time ``ts``, in rule order."""
    return [a for r in RULES if (a := evaluate_rule(incident, r, ts)) is not None]
