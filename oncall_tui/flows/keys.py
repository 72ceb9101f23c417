"""The write keys: ``S`` silence, ``A`` ack, ``R`` roll back, ``:retry``, ``N`` note.

A mixin of :class:`~oncall_tui.app.OncallApp`: each key starts its flow on the current
incident and selection (the flow confirms, runs the write in a worker and tells the result).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oncall_tui.screens import shell
from oncall_tui.screens.shell import tell

if TYPE_CHECKING:
    from collections.abc import Callable

    from oncall_tui.core.target import DrillTarget
    from oncall_tui.core.triage import TriageAlert
    from oncall_tui.incident import Incident


class WriteKeys:
    """Starting write flows (mixed into the app, which provides the attributes below)."""

    incident: Incident
    push_screen: Callable[..., Any]
    run_worker: Callable[..., Any]
    current_target: Callable[[], DrillTarget | None]
    selected_alert: Callable[[], TriageAlert | None]

    def action_silence_alert(self) -> None:
        from oncall_tui.flows.silences import SilenceFlow

        SilenceFlow(self, self.incident, self.selected_alert()).start()

    def action_ack_alert(self) -> None:
        from oncall_tui.flows.silences import AckFlow

        AckFlow(self, self.incident, self.selected_alert()).start()

    def action_rollback(self) -> None:
        """``R``: roll back the selected service (confirmation first; refused when read-only)."""
        from oncall_tui.flows.rollback import RollbackFlow

        alert = self.selected_alert()
        RollbackFlow(self, self.incident, self.current_target(), alert.fingerprint if alert else None).start()

    def action_retry(self) -> None:
        """``:retry`` / ``r`` on the timeline: failed writes kept for retry (retry or dismiss)."""
        from oncall_tui.flows.retry import RetryFlow

        RetryFlow(self, self.incident).start()

    def on_add_note(self, _: shell.AddNote) -> None:
        self.action_annotate()

    def action_annotate(self) -> None:
        """``N``: a note on the timeline (and a Grafana annotation when one is configured)."""
        from oncall_tui.screens.actions import NoteScreen

        self.push_screen(NoteScreen(), lambda text: self.add_note(text.strip()) if text and text.strip() else None)

    def add_note(self, text: str) -> None:
        incident = self.incident
        notice, at = incident.add_note(text)
        tell(self, notice)  # type: ignore[arg-type]
        if at is not None:

            async def posted() -> None:
                tell(self, await incident.post_note(text, at))  # type: ignore[arg-type]

            self.run_worker(posted(), group="actions", exit_on_error=False, description="Grafana annotation")
