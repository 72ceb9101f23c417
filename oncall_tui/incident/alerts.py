"""Alert state changes on the timeline: "started firing", "resolved", "silenced"...

Each refresh's alerts are compared with the previous refresh's; the differences become
timeline events. After a restart the previous set is rebuilt from the timeline itself, so a
restart does not repeat "started firing" for alerts that were already firing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from oncall_tui.actions.timeline import Timeline, alert_changes, event_alert_key
from oncall_tui.clients.session import TriageData
from oncall_tui.core.triage import TriageAlert


class AlertRecorder:
    """Writes each alert's state changes to ``timeline`` (one recorder per context)."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._previous: list[TriageAlert] | None = None

    def observe(self, data: TriageData, *, now: float) -> int:
        """Record what changed since the last call; returns how many events were written.

        A failed or not yet answered Alertmanager fetch is not "every alert resolved": it
        records nothing. Raises ``OSError`` when the timeline cannot be written.
        """
        am = data.sources.get("alertmanager")
        if am is not None and (am.error or am.last_ok is None):
            return 0
        previous = self._previous if self._previous is not None else self.known_alerts()
        if len(previous) == len(data.alerts) and all(a is b for a, b in zip(previous, data.alerts, strict=True)):
            return 0  # the very same alerts (the session keeps unchanged ones): nothing changed
        self._previous = list(data.alerts)
        events = alert_changes(previous, data.alerts, datetime.fromtimestamp(data.fetched_at or now, UTC))
        if events:
            self.timeline.extend(events)
        return len(events)

    def resync(self) -> None:
        """Another process recorded alert changes: compare the next refresh with the timeline."""
        self._previous = None

    def known_alerts(self) -> Sequence[TriageAlert]:
        """The alerts the timeline last saw firing (none when it cannot be read)."""
        last: dict[str, dict] = {}
        try:
            events = self.timeline.events()
        except OSError:
            return []
        for e in events:
            if e.kind == "alert":
                last[event_alert_key(e)] = e.detail
        out = []
        for d in last.values():
            if d.get("change") == "resolved":
                continue
            try:
                out.append(
                    TriageAlert(
                        name=str(d.get("alertname") or "?"),
                        severity=str(d.get("severity") or ""),
                        service=d.get("service"),
                        summary=str(d.get("summary") or ""),
                        state=str(d.get("state") or "firing"),
                        state_detail=str(d.get("state_detail") or ""),
                        starts_at=None,
                        labels=dict(d.get("labels") or {}),
                        annotations={},
                        fingerprint=d.get("fingerprint"),
                    )
                )
            except (TypeError, ValueError):
                continue
        return out
