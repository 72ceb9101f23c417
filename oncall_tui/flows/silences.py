"""``S`` silence the selected alert (form → confirm → create) and ``A`` ack it (confirm → a
short silence of exactly that alert)."""

from __future__ import annotations

from typing import Any

from textual.app import App

from oncall_tui.actions.silences import silence_preview, silence_target
from oncall_tui.core.triage import TriageAlert
from oncall_tui.flows.base import ActionFlow
from oncall_tui.incident import Incident, Notice, Refused
from oncall_tui.screens.actions import SilenceForm, SilenceRequest
from oncall_tui.screens.shell import tell

NO_ALERT = "select an alert first (tab to the alerts table)"


class _AlertFlow(ActionFlow):
    def __init__(self, app: App[Any], incident: Incident, alert: TriageAlert | None) -> None:
        super().__init__(app, incident)
        self.alert = alert

    def selected(self) -> TriageAlert:
        if self.alert is None:
            raise Refused(NO_ALERT)
        self.incident.alertmanager()  # raises when the context has none
        return self.alert


class SilenceFlow(_AlertFlow):
    failure = "silence failed"

    def begin(self) -> None:
        alert = self.selected()
        am = self.incident.alertmanager()
        settings = self.incident.settings
        form = SilenceForm(
            alert,
            alerts=self.incident.last_data.alerts if self.incident.last_data else [],
            created_by=self.incident.user,
            now_server=am.server_now,
            ticket_pattern=settings.silences.ticket_pattern,
            targets=self.incident.alertmanager_names(),
        )

        def formed(request: SilenceRequest | None) -> None:
            if request is not None:
                preview = silence_preview(self.incident.alertmanager(request.target), request.spec)
                self.confirm(preview, silence_target(request.spec.matchers), "Create silence", lambda _: self.create(request))

        self.app.push_screen(form, formed)

    async def create(self, request: SilenceRequest) -> None:
        created = await self.incident.silence(
            request.spec, fingerprints=request.fingerprints, until_resolved=request.until_resolved, target=request.target
        )
        until = f"until {created.ends_at:%H:%M} UTC"
        self.annotate("silence", silence_target(created.matchers), until)
        tell(self.app, Notice(f"silence {created.id} created {until}"))


class AckFlow(_AlertFlow):
    failure = "ack failed"

    def begin(self) -> None:
        alert = self.selected()
        try:
            spec = self.incident.ack_spec(alert)
        except ValueError as exc:  # InvalidSilence is one
            self.failure = "cannot ack"
            raise exc
        title = f"Acknowledge ({self.incident.settings.silences.ack_duration} silence)"
        preview = silence_preview(self.incident.alertmanager(), spec)
        self.confirm(preview, silence_target(spec.matchers), title, lambda _: self.ack(alert))

    async def ack(self, alert: TriageAlert) -> None:
        self.failure = "ack failed"
        created = await self.incident.ack(alert)
        until = f"until {created.ends_at:%H:%M} UTC"
        tell(self.app, Notice(f"acknowledged: silence {created.id} {until}"))
        self.annotate("ack", silence_target(created.matchers), until)
