"""Alert groups, karma's model: 5,000 alerts become a few hundred rows a responder can read.

Alerts are grouped by the values of ``group_by`` labels (default ``alertname`` + ``service``, or
the Alertmanager route's ``group_by`` when it says). A group row carries its counts by state
and severity, its worst member (which orders the groups, as the alerts are ordered) and the
labels every member shares — what a group silence matches. A group of one is just its alert.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import yaml

from oncall_tui.core.triage import SEVERITY_ORDER, TriageAlert

DEFAULT_GROUP_BY: tuple[str, ...] = ("alertname", "service")
#: ``group_by: ['...']`` in Alertmanager's route: every label is its own group (no grouping).
ALL_LABELS = "..."
#: Bytes of Alertmanager's config text read for the route (a status body is untrusted).
MAX_CONFIG_TEXT = 256 * 1024
STATE_ORDER = ("firing", "pending", "inhibited", "silenced")


@dataclass(frozen=True)
class AlertGroup:
    """Alerts sharing the values of the ``group_by`` labels, worst first."""

    key: str
    group_labels: Mapping[str, str]
    alerts: Sequence[TriageAlert]

    @property
    def worst(self) -> TriageAlert:
        return self.alerts[0]

    def __len__(self) -> int:
        return len(self.alerts)

    def counts(self, field: str) -> list[tuple[str, int]]:
        """(value, count) of ``state`` or ``severity``, in the order a responder reads them."""
        order = STATE_ORDER if field == "state" else SEVERITY_ORDER
        counted = Counter(getattr(a, field) for a in self.alerts)
        return sorted(counted.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))

    def common_labels(self) -> dict[str, str]:
        """The labels (name and value) every member has: a silence of the group matches them."""
        first, *rest = self.alerts
        common = dict(first.labels)
        for alert in rest:
            common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
        return common

    def as_alert(self) -> TriageAlert:
        """The group as one alert to act on: the worst member's text, the common labels (a group
        silence or ack matches every member), no fingerprint (it is not one of them)."""
        if len(self.alerts) == 1:
            return self.worst
        return replace(self.worst, labels=self.common_labels(), fingerprint=None)

    @property
    def title(self) -> str:
        """What the group row calls it: the alert name its members share, else its labels."""
        names = {a.name for a in self.alerts}
        if len(names) == 1:
            return self.worst.name
        return ", ".join(f"{k}={v}" for k, v in self.group_labels.items()) or self.worst.name

    def oldest(self, now: datetime) -> float | None:
        starts = [a.starts_at for a in self.alerts if a.starts_at is not None]
        return (now - min(starts)).total_seconds() if starts else None


def group_alerts(alerts: Iterable[TriageAlert], group_by: Sequence[str] = DEFAULT_GROUP_BY) -> list[AlertGroup]:
    """Groups of ``alerts`` (already in triage order: the first member of a group is its worst,
    and groups keep the order of their worst members)."""
    if ALL_LABELS in group_by:
        return [AlertGroup(alert_key(a), dict(a.labels), [a]) for a in alerts]
    members: dict[tuple[str, ...], list[TriageAlert]] = {}
    group_by = tuple(group_by)
    for alert in alerts:
        members.setdefault(alert.group_values(group_by), []).append(alert)
    return [
        AlertGroup(_group_key(group_by, values), {n: v for n, v in zip(group_by, values, strict=True) if v}, found)
        for values, found in members.items()
    ]


def _group_key(group_by: Sequence[str], values: tuple[str, ...]) -> str:
    return "group:" + "\x1f".join(f"{n}={v}" for n, v in zip(group_by, values, strict=True))


def alert_key(alert: TriageAlert) -> str:
    """The row key of an alert: its fingerprint (else its name and labels)."""
    return alert.fingerprint or f"{alert.name}:{sorted(alert.labels.items())}"


def route_group_by(config_text: str | None) -> tuple[str, ...] | None:
    """The top route's ``group_by`` from Alertmanager's ``/api/v2/status`` ``config.original``
    (None when it has none or the text is not usable: the default applies)."""
    if not config_text or len(config_text) > MAX_CONFIG_TEXT:
        return None
    try:
        config: Any = yaml.safe_load(config_text)
    except yaml.YAMLError:
        return None
    route = config.get("route") if isinstance(config, dict) else None
    labels = route.get("group_by") if isinstance(route, dict) else None
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
        return None
    return tuple(dict.fromkeys(labels))[:8]
