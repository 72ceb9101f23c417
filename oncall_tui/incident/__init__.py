"""What happens during an incident, with no UI: read this package first.

A responder opens the app on a context (a cluster's Prometheus, Alertmanager, Loki, Tempo,
Grafana). For that context an :class:`~oncall_tui.incident.incident.Incident`:

1. **reads** every backend through its :class:`~oncall_tui.clients.session.BackendSession`
   (each backend on its own loop; a down or slow one is badged with its data's age, the rest
   keeps working);
2. **observes** each refresh (:meth:`Incident.observe`): alert state changes go on the
   timeline (:mod:`.alerts`), an outage that ended goes on it too ("the view was blind
   12:03–12:07"), silences you made that end soon are reported once and "until resolved"
   silences are expired once their alerts stay resolved (:mod:`.silences`);
3. **writes** only through its :class:`~oncall_tui.actions.core.ActionRunner`: silence, ack,
   expire, roll back, retry a failed write, runbook steps. The runner refuses in read-only
   contexts, audits intent before and result after, and puts each action on the timeline;
   a successful write is annotated in Grafana when configured (:meth:`Incident.annotate`);
4. **remembers** what did not finish: writes cut short by a dropped SSH session and failed
   writes kept for retry (:meth:`Incident.unfinished`, :meth:`Incident.failed_writes`).

It returns values (:class:`Notice` for what to tell the responder) and raises our errors; the
app (``oncall_tui.app``) turns those into notifications and screens.
"""

from oncall_tui.incident.incident import (
    Incident,
    Notice,
    Observation,
    Refused,
    timeline_path,
)

__all__ = ["Incident", "Notice", "Observation", "Refused", "timeline_path"]
