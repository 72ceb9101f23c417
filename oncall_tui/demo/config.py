"""The demo's settings: one ``demo`` context whose endpoints are the demo transport's hosts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from oncall_tui.demo.common import ALERTMANAGER_URL, CD_URL, GRAFANA_URL, LOKI_URL, PROMETHEUS_URL, TEMPO_URL
from oncall_tui.demo.fleet import SERVICES
from oncall_tui.settings import Service, Settings

if TYPE_CHECKING:
    from oncall_tui.demo.incident import DemoIncident
    from oncall_tui.demo.transport import DemoTransport

DEMO_CONTEXT = "demo"
#: The demo's local runbooks (shipped as package data): one per demo alert.
DEMO_RUNBOOKS = Path(__file__).resolve().parent / "runbooks"
_SLOS: dict[str, dict[str, float]] = {
    "llm-server": {"availability": 0.99, "latency_p99_seconds": 2.0},
    "feature-store": {"availability": 0.999, "latency_p99_seconds": 0.5},
    "model-router": {"availability": 0.995, "latency_p99_seconds": 3.0},
    "embedder": {"availability": 0.999, "latency_p99_seconds": 0.2},
    # 0.1 % errors when healthy: a 0.999 target would burn at exactly 1x, in and out of "warn".
    "reranker": {"availability": 0.998, "latency_p99_seconds": 0.5},
}


#: The one-key rollback (``R``) of the demo: Argo CD's rollback API on the demo CD host
#: (history id 1 is v2.3); versions from the ``model_version`` label of the vLLM series.
_ROLLBACKS: dict[str, dict[str, Any]] = {
    "llm-server": {
        "http": {
            "endpoint": {"url": CD_URL, "timeout": 10.0, "connect_timeout": 2.0, "no_proxy": True},
            "method": "POST",
            "path": "/api/v1/applications/{service}/rollback",
            "body": {"name": "{service}", "id": 1, "dryRun": False},
            "dry_run_body": {"name": "{service}", "id": 1, "dryRun": True},
        },
        "version_label": "model_version",
        "version_query": 'vllm:num_requests_waiting{service="{service}"}',
        "version_lookback": "24h",
    },
}


def _services_data() -> list[dict[str, Any]]:
    out = []
    for s in SERVICES:
        item: dict[str, Any] = {"name": s.name, "preset": s.preset, "slo": _SLOS.get(s.name, {})}
        if s.name in _ROLLBACKS:
            item["rollback"] = _ROLLBACKS[s.name]
        out.append(item)
    return out


def demo_services() -> list[Service]:
    """The five demo services with their presets and SLOs."""
    return [Service.model_validate(item) for item in _services_data()]


def demo_settings() -> Settings:
    """Settings with the single ``demo`` context (validated like any config; nothing read or written)."""
    endpoint = {"timeout": 10.0, "connect_timeout": 2.0, "no_proxy": True}
    data = {
        "current_context": DEMO_CONTEXT,
        "refresh_seconds": 5.0,
        "runbooks": {"dir": str(DEMO_RUNBOOKS)},
        "contexts": {
            DEMO_CONTEXT: {
                "color": "magenta",
                "read_only": False,
                "protected": False,
                "endpoints": {
                    "prometheus": {"url": PROMETHEUS_URL, **endpoint},
                    "alertmanager": {"url": ALERTMANAGER_URL, **endpoint},
                    "loki": {"url": LOKI_URL, **endpoint},
                    "tempo": {"url": TEMPO_URL, **endpoint},
                    "grafana": {"url": GRAFANA_URL, **endpoint},
                },
                "services": _services_data(),
            }
        },
    }
    settings = Settings.model_validate(data)
    for context in settings.contexts.values():
        for _, ep in context.configured_endpoints():
            ep._env = {}  # the demo ignores ONCALL_TUI_* overrides and proxy variables
        for service in context.services:
            if service.rollback is not None and service.rollback.http is not None:
                service.rollback.http.endpoint._env = {}
    return settings


def demo_transport(incident: DemoIncident | None = None) -> DemoTransport:
    """A :class:`DemoTransport` for ``incident`` (a fresh one starting now by default)."""
    from oncall_tui.demo.transport import DemoTransport

    return DemoTransport(incident, services=demo_services())
