"""``:retry`` / ``r`` on the timeline: pick a failed write kept for retry, then retry it from its
kept payload after the usual confirmation, or dismiss it once handled. Processes (rollbacks,
runbook steps) are never re-run from here: their side effect may have half-happened."""

from __future__ import annotations

from oncall_tui.actions.core import Preview
from oncall_tui.flows.base import ActionFlow
from oncall_tui.incident import Notice
from oncall_tui.incident.incident import Record
from oncall_tui.screens.actions import notify_error
from oncall_tui.screens.retry import FailedWritesScreen
from oncall_tui.screens.shell import tell


class RetryFlow(ActionFlow):
    failure = "retry failed (still kept for retry)"

    def start(self) -> None:
        """Listing (and dismissing) is allowed when read-only; the retry itself is refused."""
        try:
            records = self.incident.failed_writes()
        except OSError as exc:
            notify_error(self.app, "cannot read the audit log", exc)
            return
        if not records:
            tell(self.app, Notice("no failed writes are waiting for a retry"))
            return
        self.app.push_screen(FailedWritesScreen(records), self.picked)

    def picked(self, choice: tuple[str, Record] | None) -> None:
        if choice is None:
            return
        what, record = choice
        if what == "retry":
            refusal = self.incident.retry_refusal(record)
            if refusal is not None:
                tell(self.app, refusal)
                return
            self.record = record
            super().start()
            return
        try:
            self.incident.dismiss(record)
        except OSError as exc:
            notify_error(self.app, "cannot write the audit log", exc)
            return
        tell(self.app, Notice("dismissed: it is no longer listed for retry"))

    def begin(self) -> None:
        record = self.record
        target = str(record.get("target") or "")
        self.confirm(Preview.retry_of(record), target, "Retry failed write", lambda _: self.retry(record))

    async def retry(self, record: Record) -> None:
        await self.incident.retry(record)
        tell(self.app, Notice(f"retried: {record.get('kind', '')} {record.get('target', '')}"))
