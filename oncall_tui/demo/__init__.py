"""The embedded demo incident (``oncall-tui --demo``): deterministic, time-evolving, served
through the real clients by an httpx transport. See :mod:`oncall_tui.demo.incident` for the story.
"""

from oncall_tui.demo.common import ALERTMANAGER_URL, LOKI_URL, PROMETHEUS_URL, TEMPO_URL
from oncall_tui.demo.config import (
    DEMO_CONTEXT,
    demo_services,
    demo_settings,
    demo_transport,
)
from oncall_tui.demo.incident import DemoIncident
from oncall_tui.demo.transport import DemoTransport

BASE_URLS: dict[str, str] = {
    "prometheus": PROMETHEUS_URL,
    "alertmanager": ALERTMANAGER_URL,
    "loki": LOKI_URL,
    "tempo": TEMPO_URL,
}

__all__ = [
    "ALERTMANAGER_URL",
    "BASE_URLS",
    "DEMO_CONTEXT",
    "LOKI_URL",
    "PROMETHEUS_URL",
    "TEMPO_URL",
    "DemoIncident",
    "DemoTransport",
    "demo_services",
    "demo_settings",
    "demo_transport",
]
