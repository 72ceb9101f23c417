"""Error budget of a service with an SLO: the IC's "how bad", computed without any UI.

Everything starts from one PromQL: the service's **error ratio over a window** ``w``
(:func:`error_ratio_query`), taken from

1. ``slo.errors_ratio``, a template with ``$window`` (for services whose own queries cannot be
   widened); else
2. ``queries.errors`` with every ``[5m]``-style range window replaced by ``[w]``; an explicit
   query with no range window (a recording rule such as ``service:errors:ratio_rate5m``)
   cannot be widened: the budget is *unavailable* and says to set ``slo.errors_ratio``; else
3. the preset's ``errors`` template at window ``w`` (``sum(rate(bad[w])) / sum(rate(all[w]))``).

With ``a`` the availability target (e.g. 0.999) and ``W`` the SLO window (``slo.window``,
default 30d):

- **burn rate** over ``w`` = ``ratio(w) / (1 − a)`` (1x spends the budget exactly over ``W``);
- **remaining budget** = ``1 − ratio(W) / (1 − a)`` (negative: overspent);
- **budget spent by this incident**, started ``D`` seconds ago (first alert firing) =
  ``ratio(D) × D / W / (1 − a)``: the errors during the incident over the errors the SLO
  allows in ``W``, assuming the request rate during the incident is the window's average
  (``D`` is at least 1m, at most ``W``);
- the SRE workbook's multi-window pairs: page when both 5m and 1h burn above 14.4x (2 % of a
  30-day budget in 1 h), ticket when both 30m and 6h burn above 6x (5 % in 6 h).

The triage BURN column is the 1h burn rate (:data:`TRIAGE_BURN_WINDOW`), one batched query for
every SLO service (:func:`burn_ratio_query`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from oncall_tui.core.signals import (
    PRESETS,
    SERVICE_LABEL,
    by_service_label,
    force_service,
    quote,
    regex_escape,
    render_template,
)
from oncall_tui.core.triage import TriageAlert
from oncall_tui.settings import Service

#: The triage BURN column's window (one extra query per refresh for all services).
TRIAGE_BURN_WINDOW = "1h"
BURN_HELP = "BURN: error-budget burn rate over 1h (error ratio ÷ (1 − SLO))"
#: How often the detail view asks again for the (expensive) SLO-window queries.
BUDGET_REFRESH_SECONDS = 60.0
MIN_INCIDENT_WINDOW = 60
#: A ``[5m]``-style range (not a ``[5m:1m]`` subquery, whose range stays as written).
_RANGE = re.compile(r"\[\s*\d+(?:ms|s|m|h|d|w|y)(?:\d+(?:ms|s|m|h|d|w|y))*\s*\]")


@dataclass(frozen=True)
class BurnPair:
    """One multi-window alert of the SRE workbook: both windows burn above ``threshold``."""

    name: str
    short: str
    long: str
    threshold: float


PAIRS: tuple[BurnPair, ...] = (
    BurnPair("page", "5m", "1h", 14.4),
    BurnPair("ticket", "30m", "6h", 6.0),
)
BURN_WINDOWS: tuple[str, ...] = tuple(w for p in PAIRS for w in (p.short, p.long))


class BudgetUnavailable(ValueError):
    """The service's error ratio cannot be computed over another window (message says why)."""


def error_ratio_query(service: Service, window: str) -> str:
    """The PromQL of the service's error ratio over ``window`` (see the module docstring).

    Raises :class:`BudgetUnavailable` when no windowed error ratio can be built.
    """
    template = service.slo.errors_ratio
    if template:
        return template.replace("$window", window)
    explicit = service.queries.configured().get("errors")
    if explicit:
        if not _RANGE.search(explicit):
            raise BudgetUnavailable(
                "queries.errors has no [5m]-style range window to widen to the SLO window; "
                "set slo.errors_ratio (a PromQL error ratio with $window)"
            )
        return _RANGE.sub(f"[{window}]", explicit)
    if service.preset is None:
        raise BudgetUnavailable("no errors query: set a preset, queries.errors or slo.errors_ratio")
    sel = ",".join(f"{k}={quote(v)}" for k, v in sorted(service.selector.items()))
    return render_template(PRESETS[service.preset].errors, sel=sel, by="", window=window)


def burn_ratio_query(services: Sequence[Service], window: str = TRIAGE_BURN_WINDOW) -> str | None:
    """One PromQL, ``by (service)``, of the error ratio over ``window`` of every service with an
    availability SLO (the triage BURN column); None when no service has one. Batched like
    :func:`~oncall_tui.core.signals.build_signal_queries`: preset services selected by their
    ``service`` label share one aggregation, the others are folded in with ``label_replace``."""
    parts: list[str] = []
    grouped: dict[str, list[str]] = {}
    for service in services:
        if not service.slo.availability:
            continue
        own = service.slo.errors_ratio or "errors" in service.queries.configured()
        if own or service.preset is None or not by_service_label(service):
            try:
                parts.append(force_service(error_ratio_query(service, window), service.name))
            except BudgetUnavailable:
                continue
        else:
            grouped.setdefault(service.preset, []).append(service.name)
    for preset_name in sorted(grouped):
        names = "|".join(regex_escape(n) for n in sorted(grouped[preset_name]))
        sel = f"{SERVICE_LABEL}=~{quote(names)}"
        parts.append(render_template(PRESETS[preset_name].errors, sel=sel, by=f"{SERVICE_LABEL}, ", window=window))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " or ".join(f"({p})" for p in parts)


def prom_seconds(seconds: float) -> str:
    """A whole-second Prometheus duration: ``2712s``."""
    return f"{int(seconds)}s"


def incident_window(duration: float | None, slo_window: float) -> int | None:
    """The range (whole seconds) the incident's error ratio is taken over, or None."""
    if duration is None or not duration > 0:
        return None
    return int(min(max(duration, MIN_INCIDENT_WINDOW), slo_window))


def budget_queries(service: Service, *, incident_seconds: float | None = None) -> dict[str, str]:
    """Name → PromQL of every error ratio the budget needs: the SLO window (``slo``), the four
    burn windows, and the incident's duration (``incident``, when it has one).

    Raises :class:`BudgetUnavailable` (no windowed error ratio for this service).
    """
    slo = service.slo
    out = {"slo": error_ratio_query(service, slo.window)}
    for window in BURN_WINDOWS:
        out[window] = error_ratio_query(service, window)
    seconds = incident_window(incident_seconds, slo.window_seconds)
    if seconds is not None:
        out["incident"] = error_ratio_query(service, prom_seconds(seconds))
    return out


def burn_rate(ratio: float | None, availability: float) -> float | None:
    """``ratio / (1 − availability)``; None for no data (no series, or NaN: no requests)."""
    if ratio is None or math.isnan(ratio):
        return None
    return ratio / (1.0 - availability)


@dataclass(frozen=True)
class PairState:
    pair: BurnPair
    short: float | None
    long: float | None

    @property
    def fires(self) -> bool | None:
        """Both windows above the threshold; None when a window has no data."""
        if self.short is None or self.long is None:
            return None
        return self.short > self.pair.threshold and self.long > self.pair.threshold


@dataclass
class Budget:
    """The error budget of one service, as of ``at`` (Unix seconds)."""

    service: str
    availability: float
    window: str
    window_seconds: float
    at: float
    queries: dict[str, str]
    ratios: dict[str, float | None]
    errors: dict[str, str] = field(default_factory=dict)
    incident_start: float | None = None
    #: Where the incident start comes from ("first alert of … : NAME", "timeline").
    incident_source: str = ""

    @property
    def allowed(self) -> float:
        return 1.0 - self.availability

    def burn(self, name: str) -> float | None:
        return burn_rate(self.ratios.get(name), self.availability)

    @property
    def remaining(self) -> float | None:
        """Share of the window's budget left (1 untouched, 0 spent, < 0 overspent)."""
        spent = self.burn("slo")
        return None if spent is None else 1.0 - spent

    @property
    def incident_seconds(self) -> int | None:
        start = self.incident_start
        return incident_window(None if start is None else self.at - start, self.window_seconds)

    @property
    def incident_spent(self) -> float | None:
        """Share of the window's budget spent since the incident started."""
        seconds = self.incident_seconds
        ratio = self.ratios.get("incident")
        if seconds is None or ratio is None or math.isnan(ratio):
            return None
        return ratio * seconds / self.window_seconds / self.allowed

    def pairs(self) -> list[PairState]:
        return [PairState(p, self.burn(p.short), self.burn(p.long)) for p in PAIRS]


def compute_budget(
    service: Service,
    queries: Mapping[str, str],
    ratios: Mapping[str, float | None],
    *,
    at: float,
    errors: Mapping[str, str] | None = None,
    incident_start: float | None = None,
    incident_source: str = "",
) -> Budget:
    """A :class:`Budget` from the answers to :func:`budget_queries` (``ratios`` by name)."""
    assert service.slo.availability is not None
    return Budget(
        service=service.name,
        availability=service.slo.availability,
        window=service.slo.window,
        window_seconds=service.slo.window_seconds,
        at=at,
        queries=dict(queries),
        ratios={k: (None if v is None or math.isnan(v) else v) for k, v in ratios.items()},
        errors=dict(errors or {}),
        incident_start=incident_start,
        incident_source=incident_source,
    )


def incident_start(
    alerts: Iterable[TriageAlert], service: str, *, timeline_start: datetime | None = None
) -> tuple[float | None, str]:
    """When "this incident" began for ``service``: the earliest ``startsAt`` of its alerts that
    fired (firing, silenced or inhibited; not pending), else the timeline's impact window start
    (the context's first alert that fired, while the incident is ongoing). (Unix seconds or None,
    where it came from.)"""
    first: tuple[float, str] | None = None
    for a in alerts:
        if a.service != service or a.state == "pending" or a.starts_at is None:
            continue
        when = a.starts_at.timestamp()
        if first is None or when < first[0]:
            first = (when, a.name)
    if first is not None:
        return first[0], f"first alert of {service}: {first[1]}"
    if timeline_start is not None:
        return timeline_start.timestamp(), "the timeline's first alert that fired"
    return None, ""
