"""The shape every write flow shares: refuse when read-only, confirm, run in a worker, tell."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from textual.app import App
from textual.screen import Screen

from oncall_tui.actions.core import ActionError, Preview
from oncall_tui.incident import Incident, Notice, Refused
from oncall_tui.screens.actions import READ_ONLY_MESSAGE, ConfirmScreen, notify_error
from oncall_tui.screens.shell import RefreshNow, tell


class ActionFlow:
    """One write: :meth:`start` checks and previews; :meth:`confirm` asks; :meth:`run` runs."""

    #: Says what failed, e.g. "silence failed".
    failure = "write failed"

    def __init__(self, app: App[Any], incident: Incident) -> None:
        self.app, self.incident = app, incident

    def start(self) -> None:
        """Refuse in a read-only context (nothing is sent); otherwise :meth:`begin`."""
        if self.incident.read_only:
            tell(self.app, Notice(READ_ONLY_MESSAGE, "warning"))
            return
        try:
            self.begin()
        except Refused as exc:
            tell(self.app, Notice(str(exc), "warning", title=exc.title, timeout=10))
        except (ActionError, ValueError) as exc:
            notify_error(self.app, self.failure, exc)

    def begin(self) -> None:
        raise NotImplementedError

    def typed_target(self, target: str) -> str | None:
        """``target`` when this context needs it typed before confirming (protected)."""
        return target if self.incident.runner.needs_typed_confirmation(target) else None

    def confirm(
        self,
        preview: Preview,
        target: str,
        title: str,
        then: Callable[[Any], Coroutine[Any, Any, None] | None],
        *,
        screen: Screen[Any] | None = None,
    ) -> None:
        """Show ``preview`` (or ``screen``); ``then(choice)`` runs in a worker when confirmed."""

        def chosen(choice: Any) -> None:
            if choice:
                job = then(choice)
                if job is not None:
                    self.run(job)

        self.app.push_screen(screen or ConfirmScreen(preview, typed_target=self.typed_target(target), title=title), chosen)

    def run(self, job: Coroutine[Any, Any, None], *, refresh: bool = True) -> None:
        """``job`` in a worker; its failure is shown, then (``refresh``) every panel refreshes."""

        async def guarded() -> None:
            try:
                await job
            except Exception as exc:  # noqa: BLE001 - shown, never a crash; the audit log keeps failures
                notify_error(self.app, self.failure, exc)
            if refresh:
                self.app.post_message(RefreshNow())

        self.app.run_worker(guarded(), group="actions", exit_on_error=False)

    def annotate(self, kind: str, target: str, detail: str = "") -> None:
        """After a successful write: its Grafana annotation, in its own worker."""

        async def post() -> None:
            notice = await self.incident.annotate(kind, target, detail)
            if notice is not None:
                tell(self.app, notice)

        self.app.run_worker(post(), group="annotations", exit_on_error=False)
