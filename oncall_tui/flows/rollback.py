"""``R``: roll the selected service back — plan → versions → confirmation → rollback.

Refused in read-only contexts (nothing sent, nothing started); says why when the service has
no rollback or a placeholder value is refused; otherwise fetches the versions and shows
:class:`~oncall_tui.screens.rollback.RollbackConfirmScreen` (exact argv or request, version
now → after, the service's error rate and p99, Cancel focused, Dry run when configured).
"""

from __future__ import annotations

from typing import Any

from textual.app import App

from oncall_tui.actions.rollback import RollbackPlan, Versions
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.core.target import DrillTarget
from oncall_tui.flows.base import ActionFlow
from oncall_tui.incident import Incident, Notice, Refused
from oncall_tui.screens.actions import READ_ONLY_MESSAGE
from oncall_tui.screens.rollback import DRY_RUN, RollbackConfirmScreen, facts_text
from oncall_tui.screens.shell import tell


class RollbackFlow(ActionFlow):
    failure = "rollback not done"

    def __init__(self, app: App[Any], incident: Incident, target: DrillTarget | None, fingerprint: str | None) -> None:
        super().__init__(app, incident)
        self.target, self.fingerprint = target, fingerprint

    def begin(self) -> None:
        if self.target is None or not self.target.service:
            raise Refused("select a service or one of its alerts first")
        plan = self.incident.rollback_plan(self.target.service, dict(self.target.labels))
        self.failure = "rollback disabled"
        self.run(self.ask(plan), refresh=False)

    async def ask(self, plan: RollbackPlan) -> None:
        versions = await self.incident.rollback_versions(plan)
        if self.incident.read_only:  # the context changed meanwhile
            tell(self.app, Notice(READ_ONLY_MESSAGE, "warning"))
            return
        preview = plan.preview()
        errors, p99 = self.incident.signal_facts(plan.service)
        screen = RollbackConfirmScreen(
            preview,
            facts=facts_text(versions, errors, p99),
            dry_run=plan.has_dry_run,
            typed_target=self.typed_target(plan.target),
            title=f"Roll back {sanitize_for_display(plan.service, max_chars=100)}",
        )
        self.confirm(preview, plan.target, "", lambda choice: self.roll_back(plan, versions, dry_run=choice == DRY_RUN), screen=screen)

    async def roll_back(self, plan: RollbackPlan, versions: Versions, *, dry_run: bool) -> None:
        what = "dry run" if dry_run else "rollback"
        self.failure = f"{what} not done"
        if not dry_run:
            tell(self.app, Notice(f"rolling back {plan.service}…"))
        outcome = await self.incident.rollback(plan, versions, dry_run=dry_run, fingerprint=self.fingerprint)
        if not outcome.ok:
            tell(self.app, Notice(outcome.detail, "error", title=f"{what.capitalize()} failed", timeout=20))
            return
        tell(self.app, Notice(outcome.detail, title=what.capitalize()))
        if not dry_run:
            self.annotate("rollback", plan.service, versions.describe())
