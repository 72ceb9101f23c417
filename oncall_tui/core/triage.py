"""What the triage screen shows, computed without any UI: signal rows worst first, alerts
grouped by severity then age with their state spelled out, and each backend's data state.

Inputs are the typed results of the batched golden-signal queries (:mod:`.signals`), the
Alertmanager alerts and silences, and Prometheus' pending alerts (Alertmanager never sees
pending ones). Everything here is a pure function of its inputs and ``now``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from oncall_tui.core.signals import SIGNALS, saturation_unit
from oncall_tui.models.alertmanager import AmAlert, Silence
from oncall_tui.models.prometheus import MatrixResult, PromAlert
from oncall_tui.settings import Service

_FAR_FUTURE = datetime.max.replace(tzinfo=None)
SEVERITY_ORDER = ("critical", "error", "warning", "info", "none")
#: Latency's share in ranking services (see :func:`build_rows`).
LATENCY_WEIGHT = 4.0
LEVELS = ("ok", "warn", "crit")


@dataclass(frozen=True)
class Thresholds:
    """When a cell turns warn/crit. Latency falls back to the service's p99 SLO when set."""

    errors_warn: float = 0.01
    errors_crit: float = 0.05
    latency_p99_warn: float = 1.0
    latency_p99_crit: float = 2.5
    kv_cache_warn: float = 0.85
    kv_cache_crit: float = 0.95
    burn_warn: float = 1.0
    burn_crit: float = 14.4  # the classic fast-burn page threshold (1h window, 2 % budget)


def _level(value: float | None, warn: float, crit: float) -> str:
    if value is None or math.isnan(value):
        return "ok"
    return "crit" if value >= crit else "warn" if value >= warn else "ok"


@dataclass
class SignalRow:
    """One service's golden signals, their history and how bad each one is."""

    service: str
    preset: str | None
    saturation_unit: str
    values: dict[str, float | None] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    burn_rate: float | None = None
    firing_alerts: int = 0
    score: float = 0.0
    #: Ordering bucket (0 healthy, higher is worse); see :func:`build_rows`.
    bucket: int = 0
    #: Sparkline scales (low, high) anchored at thresholds, so a full bar means "at the line".
    spark_scale: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def worst_level(self) -> str:
        return max(self.levels.values(), key=LEVELS.index, default="ok")


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def build_rows(
    services: Sequence[Service],
    current: Mapping[str, Mapping[str, float]],
    ranges: Mapping[str, MatrixResult | None] | None = None,
    *,
    firing_by_service: Mapping[str, int] | None = None,
    thresholds: Thresholds = Thresholds(),
    previous_buckets: Mapping[str, int] | None = None,
    burn_ratio: Mapping[str, float] | None = None,
    history_cache: dict[str, tuple[object, dict[str, list[float]]]] | None = None,
) -> list[SignalRow]:
    """One row per service: degraded ones worst first, then the healthy ones by name.

    ``current`` is each signal's value per service now; ``ranges`` the history for sparklines.
    ``burn_ratio`` is each SLO service's error ratio over the BURN window (1h, see
    :mod:`.budget`); without it (None) the burn rate is taken from the current error ratio.
    ``history_cache`` (updated in place) keeps the trends read from each signal's range result:
    the range queries are re-used until their window moves a step, and a result that is the
    very object of the last call is not read again (its rows share the same history lists).
    """
    history: dict[str, dict[str, list[float]]] = {}
    kept: dict[str, tuple[object, dict[str, list[float]]]] = {}
    for s, r in (ranges or {}).items():
        hit = history_cache.get(s) if history_cache is not None else None
        if hit is not None and hit[0] is r and r is not None:
            history[s] = hit[1]
        else:
            history[s] = {
                name: [0.0 if math.isnan(p.value) else p.value for p in points]
                for name, points in (r.by_label("service") if r is not None else {}).items()
            }
        kept[s] = (r, history[s])
    if history_cache is not None:
        history_cache.clear()
        history_cache.update(kept)
    rows = []
    empty: dict[str, list[float]] = {}
    for svc in services:
        row = SignalRow(service=svc.name, preset=svc.preset, saturation_unit=saturation_unit(svc))
        name = svc.name
        for signal in SIGNALS:
            row.values[signal] = _finite(current.get(signal, empty).get(name))  # type: ignore[arg-type]
            trend = history.get(signal, empty).get(name)
            row.history[signal] = trend if trend is not None else []
        errors, p99 = row.values["errors"], row.values["latency_p99"]
        ratio = errors if burn_ratio is None else _finite(burn_ratio.get(svc.name))
        if svc.slo.availability and ratio is not None:
            row.burn_rate = ratio / (1.0 - svc.slo.availability)
        slo_p99 = svc.slo.latency_p99_seconds
        p99_warn = slo_p99 or thresholds.latency_p99_warn
        p99_crit = 2 * slo_p99 if slo_p99 else thresholds.latency_p99_crit
        row.levels = {
            "errors": _level(errors, thresholds.errors_warn, thresholds.errors_crit),
            "latency_p99": _level(p99, p99_warn, p99_crit),
            "burn": _level(row.burn_rate, thresholds.burn_warn, thresholds.burn_crit),
        }
        if row.saturation_unit in ("kv-cache", "ratio"):
            row.levels["saturation"] = _level(
                row.values["saturation"], thresholds.kv_cache_warn, thresholds.kv_cache_crit
            )
        row.spark_scale = {"errors": (0.0, thresholds.errors_warn), "latency_p99": (0.0, p99_warn)}
        if row.saturation_unit in ("kv-cache", "ratio"):
            row.spark_scale["saturation"] = (0.0, 1.0)
        row.firing_alerts = (firing_by_service or {}).get(svc.name, 0)
        # How far each signal is over its warn line. Failing comes before slow: latency
        # counts a quarter (a p99 at 4x its line weighs as much as errors at their line),
        # so an LLM service's long generations do not outrank a service dropping requests.
        badness = [
            (errors or 0.0) / thresholds.errors_warn,
            (p99 or 0.0) / p99_warn / LATENCY_WEIGHT,
            (row.burn_rate or 0.0) / thresholds.burn_warn,
        ]
        # Signals rank services; a firing alert only lifts a service whose signals look fine
        # into the degraded group (so silencing an alert never drops an 11 %-errors service
        # below one at 0.3 %).
        row.score = max(max(badness), 1.0 if row.firing_alerts else 0.0)
        rows.append(row)
    # Degraded services (score >= 1: over a threshold, or alerting) worst first, in half-octave
    # buckets of badness (then by name); healthy ones by name. Noise then rarely reshuffles the
    # table — a reorder repaints all of it, a value change only its cell.
    # With ``previous_buckets`` a service keeps its place until its score leaves the bucket by
    # more than 15 % (hysteresis): values hovering at an edge do not flip rows back and forth.
    previous = previous_buckets or {}
    for r in rows:
        r.bucket = _badness_bucket(r.score)
        before = previous.get(r.service)
        if before is not None and _badness_bucket(r.score / 1.15) <= before <= _badness_bucket(r.score * 1.15):
            r.bucket = before
    rows.sort(key=lambda r: (-r.bucket, r.service))
    return rows


def _badness_bucket(score: float) -> int:
    """0 for healthy, then 1, 2, 3 … per half-octave: 1–1.41 → 1, 1.41–2 → 2, 2–2.83 → 3."""
    return 0 if score < 1.0 else 1 + int(2 * math.log2(score))


# --------------------------------------------------------------------------- alerts --
@dataclass(frozen=True)
class TriageAlert:
    """An alert as the responder reads it."""

    name: str
    severity: str
    service: str | None
    summary: str
    state: str  # firing | pending | silenced | inhibited
    state_detail: str
    starts_at: datetime | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    fingerprint: str | None = None
    #: Where the alert came from (Prometheus' graph of its expression), as the server says.
    generator_url: str | None = None
    #: The Alertmanagers holding it, when the context has several (empty otherwise).
    origins: tuple[str, ...] = ()

    def age(self, now: datetime) -> float | None:
        return (now - self.starts_at).total_seconds() if self.starts_at else None

    @cached_property
    def rank(self) -> tuple[int, bool, datetime, str]:
        """Triage order: severity, then loud before silenced/inhibited, oldest first, name."""
        return (
            _severity_rank(self.severity),
            self.state in ("silenced", "inhibited"),
            self.starts_at.replace(tzinfo=None) if self.starts_at else _FAR_FUTURE,
            self.name,
        )

    def group_values(self, group_by: tuple[str, ...]) -> tuple[str, ...]:
        """The values of ``group_by`` labels ("" when unset), kept per grouping: an unchanged
        alert is grouped again without reading its labels."""
        found = self._groupings.get(group_by)
        if found is None:
            found = self._groupings[group_by] = tuple(self.labels.get(name, "") for name in group_by)
        return found

    @cached_property
    def _groupings(self) -> dict[tuple[str, ...], tuple[str, ...]]:
        return {}

    @cached_property
    def identity(self) -> tuple[str, ...]:
        """Its labels without the external ones (matches Prometheus' view of the same alert)."""
        return _identity(self.labels)


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def _hhmm(when: datetime) -> str:
    return when.strftime("%H:%M UTC")


def merge_alerts(
    am_alerts: Iterable[AmAlert],
    silences: Iterable[Silence] = (),
    prom_alerts: Iterable[PromAlert] = (),
    *,
    include_none: bool = False,
    cache: dict[str, TriageAlert] | None = None,
    origins: Mapping[str, tuple[str, ...]] | None = None,
) -> list[TriageAlert]:
    """Alertmanager's alerts plus Prometheus' pending ones, grouped by severity then oldest first.

    Silenced alerts say who silenced them and until when; inhibited ones say by which alert.
    ``severity="none"`` alerts (Watchdog) are left out unless ``include_none``. ``cache`` (the
    last call's alerts by fingerprint, updated in place) lets an alert that did not change keep
    its object: with 5,000 alerts most refreshes change few. ``origins`` names the
    Alertmanagers holding each alert (by fingerprint) when a context has several.
    """
    am_alerts = list(am_alerts)
    silence_by_id = {s.id: s for s in silences}
    inhibited = any(a.status.inhibited_by for a in am_alerts)
    name_by_fp = {a.fingerprint: a.labels.get("alertname", "?") for a in am_alerts} if inhibited else {}
    last = cache if cache is not None else {}
    fresh: dict[str, TriageAlert] = {}
    out: list[TriageAlert] = []
    for a in am_alerts:
        state, detail = "firing", "firing"
        if a.status.silenced_by:
            state = "silenced"
            parts = []
            for sid in a.status.silenced_by:
                s = silence_by_id.get(sid)
                parts.append(f"{s.created_by} until {_hhmm(s.ends_at)}" if s else f"silence {sid[:8]}")
            detail = "silenced by " + ", ".join(parts)
        elif a.status.inhibited_by:
            state = "inhibited"
            detail = "inhibited by " + ", ".join(name_by_fp.get(fp, fp[:8]) for fp in a.status.inhibited_by)
        hit = last.get(a.fingerprint)
        where = origins.get(a.fingerprint, ()) if origins else ()
        if not (
            hit is not None
            and hit.origins == where
            and hit.state_detail == detail
            and hit.state == state
            and hit.starts_at == a.starts_at
            and hit.generator_url == a.generator_url
            and hit.annotations == a.annotations
        ):
            hit = _triage_alert(a.labels, a.annotations, state, detail, a.starts_at, a.fingerprint, a.generator_url, where)
        fresh[a.fingerprint] = hit
        out.append(hit)
    pending = [p for p in prom_alerts if p.state == "pending"]
    if pending:  # Prometheus' pending alerts that Alertmanager does not have yet
        seen = {a.identity for a in out}
        out += [
            _triage_alert(p.labels, p.annotations, "pending", "pending", p.active_at, None)
            for p in pending
            if _identity(p.labels) not in seen
        ]
    if cache is not None:
        cache.clear()
        cache.update(fresh)
    if not include_none:
        out = [a for a in out if a.severity != "none"]
    out.sort(key=lambda a: a.rank)
    return out


def _identity(labels: Mapping[str, str]) -> tuple[str, ...]:
    # Alertmanager adds external labels (e.g. cluster) that Prometheus' own API omits.
    return tuple(sorted(f"{k}={v}" for k, v in labels.items() if k not in ("cluster", "replica", "prometheus")))


def _triage_alert(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    state: str,
    detail: str,
    starts_at: datetime | None,
    fingerprint: str | None,
    generator_url: str | None = None,
    origins: tuple[str, ...] = (),
) -> TriageAlert:
    return TriageAlert(
        name=labels.get("alertname", "?"),
        severity=labels.get("severity", "none") or "none",
        service=labels.get("service"),
        summary=annotations.get("summary") or annotations.get("description") or "",
        state=state,
        state_detail=detail,
        starts_at=starts_at,
        labels=dict(labels),
        annotations=dict(annotations),
        fingerprint=fingerprint,
        generator_url=generator_url,
        origins=origins,
    )


def firing_by_service(alerts: Iterable[TriageAlert]) -> dict[str, int]:
    """Number of firing (not silenced/inhibited/pending) alerts per service (the ALERTS column)."""
    counts: dict[str, int] = {}
    for a in alerts:
        if a.state == "firing" and a.service:
            counts[a.service] = counts.get(a.service, 0) + 1
    return counts


# ------------------------------------------------------------------ backend state --
@dataclass
class SourceState:
    """One backend's data state, ticking with ``now`` (R4.1, DESIGN.md "Failure behaviour").

    ``ok 3s`` (age of the data on screen) · ``SLOW 12s`` (a request in flight longer than the
    refresh interval) · ``RETRYING 1/3 next in 2s`` · ``DOWN since 10:31:05`` (the last request
    failed; the last good data stays, dimmed) · ``STALE 45s`` (no answer for longer than
    ``stale_after``) · ``AUTH-FAILED`` · ``…`` (nothing yet).
    """

    name: str
    stale_after: float = 30.0
    #: The refresh interval: a request in flight longer than this is SLOW.
    interval: float = 10.0
    last_ok: float | None = None
    error: str | None = None
    error_badge: str | None = None
    failing_since: float | None = None
    #: No request before this time: the server's ``Retry-After``, or our own backoff.
    retry_at: float | None = None
    retry_attempt: int = 0
    retry_max: int = 0
    #: When the request now in flight was sent (None: nothing in flight).
    in_flight_since: float | None = None

    def started(self, now: float) -> None:
        if self.in_flight_since is None:
            self.in_flight_since = now

    def ok(self, now: float) -> tuple[float, float, str] | None:
        """Record an answer; returns the outage it ends as (since, until, why), if any."""
        outage = (self.failing_since, now, self.error or "") if self.failing_since is not None else None
        self.last_ok, self.error, self.error_badge, self.failing_since = now, None, None, None
        self.retry_at, self.retry_attempt, self.in_flight_since = None, 0, None
        return outage  # type: ignore[return-value]

    def failed(self, now: float, badge: str, message: str, *, retry_after: float | None = None) -> None:
        if self.failing_since is None:
            # Blind since the failed request was sent (a hung server: since it stopped answering).
            self.failing_since = self.in_flight_since if self.in_flight_since is not None else now
        self.error, self.error_badge = message, badge
        self.retry_at = now + retry_after if retry_after is not None else None
        self.retry_attempt, self.retry_max, self.in_flight_since = 0, 0, None

    def retrying(self, now: float, attempt: int, max_attempts: int, delay: float, error: str) -> None:
        """A read failed and will be retried after ``delay`` (the request is still running)."""
        if self.failing_since is None:
            self.failing_since = now
        self.error = error
        self.retry_at, self.retry_attempt, self.retry_max = now + delay, attempt, max_attempts

    def waiting(self, now: float) -> bool:
        """Whether a ``Retry-After`` still holds with nothing in flight (skip this refresh)."""
        return self.in_flight_since is None and self.retry_at is not None and now < self.retry_at

    def status(self, now: float) -> str:
        """auth | retrying | slow | down | loading | stale | fresh."""
        if self.error_badge == "AUTH-FAILED":
            return "auth"
        if self.retry_at is not None and now < self.retry_at:
            return "retrying"
        if self.in_flight_since is not None and now - self.in_flight_since > self.interval:
            return "slow"
        if self.error is not None:
            return "down"
        if self.last_ok is None:
            return "loading"
        return "stale" if now - self.last_ok > self.stale_after else "fresh"

    def badge(self, now: float) -> str:
        """The header's words for :meth:`status` (without the backend's name)."""
        status = self.status(now)
        age = format_age(self.age(now))
        if status == "fresh":
            return f"ok {age}"
        if status == "stale":
            return f"STALE {age}"
        if status == "slow":
            return f"SLOW {format_age(now - self.in_flight_since if self.in_flight_since is not None else 0.0)}"
        if status == "retrying":
            left = format_age(max(self.retry_at - now, 0.0) if self.retry_at is not None else 0.0)
            count = f" {self.retry_attempt}/{self.retry_max}" if self.retry_max else ""
            return f"RETRYING{count} next in {left}"
        if status == "down":
            since = time.strftime("%H:%M:%S", time.gmtime(self.failing_since if self.failing_since is not None else now))
            kept = f", data {age} old" if self.last_ok is not None else ""
            return f"DOWN since {since}{kept}"
        if status == "auth":
            return "AUTH-FAILED"
        return "…"

    def age(self, now: float) -> float | None:
        return None if self.last_ok is None else max(now - self.last_ok, 0.0)


def format_age(seconds: float | None) -> str:
    """At most five characters: ``42s``, ``5m``, ``1h16m``, ``2d03h``, ``3y``, ``>99y``;
    ``-`` when unknown (a year-0001 ``startsAt`` is ``>99y``, never a cut number)."""
    if seconds is None or seconds != seconds:
        return "-"
    s = int(max(min(seconds, 1e12), -1e12))
    if s < 0:
        return "0s"  # a start in the future: the server's clock is ahead
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    if s < 365 * 86400:
        days, hours = divmod(s // 3600, 24)
        return f"{days}d{hours:02d}h" if hours else f"{days}d"
    years = s // (365 * 86400)
    return f"{years}y" if years <= 99 else ">99y"
