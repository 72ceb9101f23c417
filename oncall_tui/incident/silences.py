"""Watching the responder's silences: "yours ends in 5 minutes" and "until resolved".

* A silence you created that ends within ``silences.expiry_warning`` is reported once.
* A silence created "until resolved" is expired by the app once its alerts have stayed
  resolved for two refreshes in a row (one flap does not end it early).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from oncall_tui.actions.silences import UntilResolved, expiring_soon, format_matchers
from oncall_tui.core.triage import TriageAlert
from oncall_tui.models.alertmanager import Matcher, Silence


class SilenceWatch:
    """Expiry warnings (once per silence) and the "until resolved" silences of one context."""

    def __init__(self, user: str, warn_within: timedelta) -> None:
        self.user = user
        self.warn_within = warn_within
        self.until_resolved: list[UntilResolved] = []
        self._warned: set[str] = set()

    def expire_when_resolved(self, silence_id: str, matchers: Sequence[Matcher]) -> None:
        self.until_resolved.append(UntilResolved(silence_id, list(matchers)))

    def expiring(self, silences: Sequence[Silence], *, now: datetime) -> list[str]:
        """One message per silence of yours about to end that was not reported before."""
        out = []
        for silence, left in expiring_soon(silences, created_by=self.user, within=self.warn_within, now=now):
            if silence.id in self._warned:
                continue
            self._warned.add(silence.id)
            minutes = max(1, round(left.total_seconds() / 60))
            out.append(f"your silence {format_matchers(silence.matchers)} expires in {minutes}m (s: silences view, E extends)")
        return out

    def resolved(self, alerts: Sequence[TriageAlert], *, now: datetime) -> list[str]:
        """Ids of "until resolved" silences whose alerts have resolved: they are to be expired
        (and are no longer watched)."""
        done = [item for item in self.until_resolved if item.should_expire(alerts, now=now)]
        for item in done:
            self.until_resolved.remove(item)
        return [item.silence_id for item in done]
