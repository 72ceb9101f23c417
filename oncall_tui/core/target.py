"""What a drill-down is about: an alert or a service, its labels, and a time window.

The triage screen turns its selection into a :class:`DrillTarget`; the logs, traces and GPU
screens build their queries from it (label conventions, no per-datasource wiring), so one key
goes from an alert to its logs over the alert's window padded before its start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from oncall_tui.core.triage import TriageAlert


@dataclass(frozen=True)
class DrillTarget:
    """Labels to correlate on and the window [start, end] in Unix seconds."""

    start: float
    end: float
    service: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    alert: str | None = None

    def describe(self) -> str:
        """``alert LLMServerHighErrorRate (llm-server)`` or ``service llm-server`` (raw text)."""
        if self.alert:
            return f"alert {self.alert} ({self.service or '-'})"
        return f"service {self.service}" if self.service else "everything"


def target_for_alert(alert: TriageAlert, now: float) -> DrillTarget:
    """The alert's labels over its window: 15 min before it started until now (or its end + 5 min)."""
    now_dt = datetime.fromtimestamp(now, UTC)
    from oncall_tui.core.logs.window import alert_window  # the logs package loads with its screen

    start, end = alert_window(alert.starts_at or now_dt, None, now_dt)
    labels = dict(alert.labels)
    if alert.service and "service" not in labels:
        labels["service"] = alert.service
    return DrillTarget(start.timestamp(), end.timestamp(), alert.service, labels, alert.name)


def target_for_service(service: str, start: float, end: float) -> DrillTarget:
    return DrillTarget(start, end, service, {"service": service})
