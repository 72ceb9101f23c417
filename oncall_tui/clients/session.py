"""The clients of one context and the triage refresh, one backend at a time.

Prometheus' part of a refresh is an instant query per golden signal (one batched PromQL for
all services), range queries for the trends when their window moved, and Prometheus' alerts
(only Prometheus knows pending ones); Alertmanager's part is its alerts and silences. Each
backend refreshes on its own (:meth:`BackendSession.refresh`) and records its state in its
:class:`~oncall_tui.core.triage.SourceState`; :meth:`BackendSession.assemble` composes the view
from what each last delivered, so a failing backend's last good data stays on screen.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from oncall_tui.clients.alertmanager import AlertmanagerClient
from oncall_tui.clients.drill import DrillDown
from oncall_tui.clients.errors import BackendError
from oncall_tui.clients.factory import build_http_client
from oncall_tui.clients.http import NO_RETRY, SKEW_WARN_SECONDS
from oncall_tui.clients.prometheus import PrometheusClient
from oncall_tui.core.budget import Budget, budget_queries, burn_ratio_query, compute_budget
from oncall_tui.core.grouping import route_group_by
from oncall_tui.core.signals import SIGNALS, build_signal_queries, discover_services, discovery_query, service_query
from oncall_tui.core.timerange import TimeRange
from oncall_tui.core.triage import (
    SignalRow,
    SourceState,
    TriageAlert,
    build_rows,
    firing_by_service,
    format_age,
    merge_alerts,
)
from oncall_tui.models.alertmanager import Silence
from oncall_tui.models.prometheus import MatrixResult, Sample, VectorResult
from oncall_tui.settings import Context, Service

if TYPE_CHECKING:  # Grafana's client and models load only for a context that names one
    from oncall_tui.clients.grafana import GrafanaClient
    from oncall_tui.models.grafana import Annotation

#: Preset -> prefixes of :func:`llm_saturation_queries` names that apply to it.
LLM_FAMILIES = {"vllm": ("vllm", "kv"), "triton": ("triton",), "tgi": ("tgi",)}

#: Points per series for the triage sparklines (8 cells wide); the detail view asks for more.
RANGE_POINTS = 32
DETAIL_POINTS = 120
#: Signals shown as sparklines; the others are fetched as instant queries (one point each).
TREND_SIGNALS = ("traffic", "errors", "latency_p99", "saturation")
log = logging.getLogger(__name__)
REDISCOVER_EVERY = 30  # refreshes


@dataclass
class TriageData:
    """Everything the triage screen shows, as of ``fetched_at``."""

    context: str
    services: list[Service] = field(default_factory=list)
    rows: list[SignalRow] = field(default_factory=list)
    alerts: list[TriageAlert] = field(default_factory=list)
    silences: list[Silence] = field(default_factory=list)
    """Alertmanager's silences as of this refresh (active, pending and recently expired)."""
    queries: dict[str, str] = field(default_factory=dict)
    sources: dict[str, SourceState] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    time_range: TimeRange | None = None
    fetched_at: float = 0.0


class BackendSession:
    """Clients for one context, reused across refreshes; closes them on :meth:`aclose`."""

    def __init__(
        self,
        context: Context,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        env: Mapping[str, str] | None = None,
        allow_insecure: bool = False,
        clock: Callable[[], float] = time.time,
        stale_after: float = 30.0,
        interval: float = 10.0,
    ) -> None:
        self.context = context
        self.clock = clock
        self.sources: dict[str, SourceState] = {}
        self.prometheus: PrometheusClient | None = None
        self.alertmanager: AlertmanagerClient | None = None
        #: Every Alertmanager of the context by name (config order; the first is ``alertmanager``).
        self.alertmanagers: dict[str, AlertmanagerClient] = {}
        #: With several Alertmanagers, each member's own state (one down member is a badge, not
        #: an outage: ``sources["alertmanager"]`` fails only when every member does).
        self.members: dict[str, SourceState] = {}
        #: Which members hold each alert (by fingerprint) and each silence (by id).
        self.alert_origins: dict[str, tuple[str, ...]] = {}
        self.silence_origins: dict[str, str] = {}
        self._setup_errors: dict[str, BackendError] = {}
        members = context.endpoints.alertmanager_members()
        for kind, cls in (("prometheus", PrometheusClient), ("alertmanager", AlertmanagerClient)):
            endpoint = context.endpoint(kind)
            if endpoint is None:
                continue
            self.sources[kind] = SourceState(kind, stale_after=stale_after, interval=interval)
            for name, member in members if kind == "alertmanager" else [(kind, endpoint)]:
                if len(members) > 1 and kind == "alertmanager":
                    self.members[name] = SourceState(name, stale_after=stale_after, interval=interval)
                try:
                    http = build_http_client(member, kind=kind, env=env, transport=transport, allow_insecure=allow_insecure)
                except BackendError as exc:
                    self._setup_errors[name] = exc
                    continue
                client = cls(http, follow_redirects=member.follow_redirects, clock=clock)
                client.on_retry = self._retry_reporter(name if name in self.members else kind)
                if kind == "alertmanager":
                    self.alertmanagers[name] = client  # type: ignore[assignment]
                if getattr(self, kind) is None and member is endpoint:
                    setattr(self, kind, client)
        #: Grafana (annotations): built when the context names a grafana endpoint.
        self.grafana: GrafanaClient | None = None
        self.grafana_error: BackendError | None = None
        grafana = context.endpoint("grafana")
        if grafana is not None:
            try:
                http = build_http_client(
                    grafana, kind="grafana", env=env, transport=transport, allow_insecure=allow_insecure
                )
            except BackendError as exc:
                self.grafana_error = exc
            else:
                from oncall_tui.clients.grafana import GrafanaClient

                self.grafana = GrafanaClient(http, follow_redirects=grafana.follow_redirects)
        #: Logs, traces and GPU data for the drill-down screens (their own source states).
        self.drill = DrillDown(
            context, self.prometheus, transport=transport, env=env, allow_insecure=allow_insecure, clock=clock
        )
        self._services = list(context.services)
        self._discovered = False
        self._refreshes = 0
        self._last: TriageData = TriageData(context=context.name, sources=self.sources)
        self._locks: dict[str, asyncio.Lock] = {}
        self._services_now: list[Service] = list(context.services)
        self._queries: dict[str, str] = build_signal_queries(self._services_now)
        self._prom_warnings: list[str] = []
        #: Backend outages that ended, for the timeline ("alertmanager down 20:31–20:33").
        self.outages: list[tuple[str, float, float, str]] = []
        self._raw: dict[str, Any] = {}
        #: The Alertmanager route's ``group_by`` (``/api/v2/status``, read once): how alerts group.
        self.route_group_by: tuple[str, ...] | None = None
        self._alert_cache: dict[str, TriageAlert] = {}
        self._history_cache: dict[str, tuple[object, dict[str, list[float]]]] = {}
        self._assembling = threading.Lock()
        self._status_read = False
        # The range queries' identity when their results in _raw were fetched: the aligned
        # window only moves once per step, so most refreshes reuse the trends.
        self._range_key: tuple[Any, ...] | None = None

    def _retry_reporter(self, kind: str) -> Callable[[int, int, float, BackendError], None]:
        def report(attempt: int, max_attempts: int, delay: float, error: BackendError) -> None:
            (self.members.get(kind) or self.sources[kind]).retrying(self.clock(), attempt, max_attempts, delay, str(error))

        return report

    async def aclose(self) -> None:
        for client in (self.prometheus, *self.alertmanagers.values(), self.grafana):
            if client is not None:
                await client.aclose()
        await self.drill.aclose()

    def alertmanager_for(self, name: str | None = None, *, silence_id: str | None = None) -> tuple[str, AlertmanagerClient] | None:
        """The Alertmanager a write goes to: ``name``; else the member holding ``silence_id``;
        else the first healthy member (the first when none is)."""
        if name is None and silence_id is not None:
            name = self.silence_origins.get(silence_id)
        if name is not None:
            client = self.alertmanagers.get(name)
            return (name, client) if client is not None else None
        healthy = [n for n in self.alertmanagers if n not in self.members or self.members[n].error is None]
        chosen = (healthy or list(self.alertmanagers) or [None])[0]
        return (chosen, self.alertmanagers[chosen]) if chosen is not None else None

    # ---------------------------------------------------------------- fetching --
    def url_of(self, kind: str) -> str:
        """The backend's base URL, credentials masked (for "DOWN: why" lines)."""
        client = getattr(self, kind, None)
        return client.base_url if client is not None else ""

    @property
    def backends(self) -> list[str]:
        """The backends of the triage view that this context has ("prometheus", "alertmanager")."""
        return list(self.sources)

    async def refresh(self, kind: str, time_range: TimeRange, *, if_idle: bool = False, force: bool = False) -> bool:
        """Refresh one backend's part of the triage view. Never raises for backend trouble: it
        lands in ``sources[kind]``; its last good data stays in place. Each backend refreshes on
        its own (one refresh of a backend at a time): a hung Alertmanager never holds
        Prometheus' data, and the other way round. With ``if_idle`` a backend already being
        refreshed is left alone (returns False: its loop delivers that answer)."""
        lock = self._locks.setdefault(kind, asyncio.Lock())
        if if_idle and lock.locked():
            return False
        async with lock:
            state = self.sources[kind]
            now = self.clock()
            setup = self._setup_errors.get(kind) if not (kind == "alertmanager" and self.members) else None
            if setup is not None:
                state.failed(now, setup.badge, str(setup))
                return True
            if state.waiting(now) and not force:
                return True  # the server's Retry-After still holds (ctrl+r asks anyway: force)
            state.started(now)
            try:
                if kind == "prometheus":
                    await self._refresh_prometheus(time_range)
                else:
                    await self._refresh_alertmanager()
            except BackendError as exc:
                state.failed(self.clock(), exc.badge, str(exc), retry_after=exc.retry_after)
            except asyncio.CancelledError:
                state.in_flight_since = None
                raise
            except Exception as exc:  # noqa: BLE001 - a malformed answer must not end the loop
                state.failed(self.clock(), "ERROR", f"{kind}: {type(exc).__name__}: {exc}"[:300])
            else:
                outage = state.ok(self.clock())
                if outage is not None:
                    self.outages.append((kind, *outage))
            return True

    async def _refresh_prometheus(self, time_range: TimeRange) -> None:
        assert self.prometheus is not None
        now = self.clock()
        # The batch of a refresh is a dozen requests: none of them retries on its own (that
        # would be a dozen retry storms); a failed refresh makes the next one start with one
        # probe request, which retries with backoff, and sends the batch only once it answers.
        probe = None
        if self.sources["prometheus"].error is not None:
            probe = await self.prometheus.alerts()
        services = await self._services_for_refresh(now)
        queries = build_signal_queries(services)
        start, end, step = time_range.window(now, points=RANGE_POINTS)
        range_key = (start, end, step, tuple(sorted(queries.items())))
        jobs: dict[str, Any] = {}
        at = now if time_range.end is None else min(time_range.end, now)
        for signal, expr in queries.items():
            jobs[f"instant:{signal}"] = self.prometheus.query(expr, time=at, retry=NO_RETRY)
        burn = burn_ratio_query(services)
        if burn is not None:  # the BURN column: every SLO service's 1h error ratio, one query
            jobs["instant:burn"] = self.prometheus.query(burn, time=at, retry=NO_RETRY)
        if range_key != self._range_key:
            for signal, expr in queries.items():
                if signal in TREND_SIGNALS:
                    jobs[f"range:{signal}"] = self.prometheus.query_range(expr, start=start, end=end, step=step, retry=NO_RETRY)
        if probe is None:
            jobs["prom_alerts"] = self.prometheus.alerts(retry=NO_RETRY)
        answers = dict(zip(jobs, await asyncio.gather(*jobs.values(), return_exceptions=True), strict=True))
        burn_failed = answers.get("instant:burn")
        if isinstance(burn_failed, BackendError) and not any(
            isinstance(r, BaseException) for k, r in answers.items() if k != "instant:burn"
        ):
            # Only the BURN query was refused (e.g. an SLO service's own PromQL): the golden
            # signals still show, BURN says "–" and the warning says why.
            answers["instant:burn"] = None
            burn_warning = [f"BURN (1h error ratio) query failed: {burn_failed}"]
        else:
            burn_warning = []
        failure = next((r for r in answers.values() if isinstance(r, BaseException)), None)
        if failure is not None:
            raise failure
        if probe is not None:
            answers["prom_alerts"] = probe
        if any(k.startswith("range:") for k in answers):
            self._range_key = range_key
        self._raw.update(answers)
        self._services_now, self._queries = services, queries
        self._prom_warnings = [*burn_warning, *(w for r in answers.values() for w in getattr(r, "warnings", []))]
        if burn is None:
            self._raw.pop("instant:burn", None)

    async def _refresh_alertmanager(self) -> None:
        if self.members:
            await self._refresh_members()
        else:
            assert self.alertmanager is not None
            alerts, silences = await asyncio.gather(self.alertmanager.alerts(), self.alertmanager.silences())
            self._raw["am_alerts"], self._raw["silences"] = alerts, silences
        if not self._status_read:
            self._status_read = True
            chosen = self.alertmanager_for()
            try:  # only how alerts group: a failure here leaves the default, never fails the refresh
                if chosen is not None:
                    self.route_group_by = route_group_by((await chosen[1].status()).config.original)
            except Exception as exc:  # noqa: BLE001
                log.info("alertmanager status unreadable (alerts group by the default): %s", exc)

    async def _refresh_members(self) -> None:
        """Every member at once; alerts deduplicated by fingerprint and silences by id, each
        remembering which members hold it. Fails only when every member fails."""

        async def one(name: str) -> tuple[list[Any], list[Any]]:
            state = self.members[name]
            state.started(self.clock())
            try:
                setup = self._setup_errors.get(name)
                if setup is not None:
                    raise setup
                client = self.alertmanagers[name]
                alerts, silences = await asyncio.gather(client.alerts(), client.silences())
            except BackendError as exc:
                state.failed(self.clock(), exc.badge, str(exc), retry_after=exc.retry_after)
                raise
            except Exception as exc:
                state.failed(self.clock(), "ERROR", f"{name}: {type(exc).__name__}: {exc}"[:300])
                raise
            state.ok(self.clock())
            return alerts, silences

        names = list(self.members)
        answers = await asyncio.gather(*(one(n) for n in names), return_exceptions=True)
        good = [(n, a) for n, a in zip(names, answers, strict=True) if not isinstance(a, BaseException)]
        if not good:
            first = answers[0]
            raise first if isinstance(first, BackendError) else BackendError(f"every alertmanager failed: {first}", source="alertmanager")
        alerts: dict[str, Any] = {}
        silences: dict[str, Any] = {}
        origins: dict[str, list[str]] = {}
        silence_origins: dict[str, str] = {}
        for name, (member_alerts, member_silences) in good:
            for alert in member_alerts:
                alerts.setdefault(alert.fingerprint, alert)
                origins.setdefault(alert.fingerprint, []).append(name)
            for silence in member_silences:
                silences.setdefault(silence.id, silence)
                silence_origins.setdefault(silence.id, name)
        self._raw["am_alerts"], self._raw["silences"] = list(alerts.values()), list(silences.values())
        self.alert_origins = {fp: tuple(names) for fp, names in origins.items()}
        self.silence_origins = silence_origins

    async def fetch_triage(self, time_range: TimeRange) -> TriageData:
        """Refresh every backend now (each on its own, concurrently) and assemble the view."""
        await asyncio.gather(*(self.refresh(kind, time_range) for kind in self.backends))
        return self.assemble(time_range)

    def assemble(self, time_range: TimeRange) -> TriageData:
        """The triage view from whatever each backend last delivered (thread-safe: the app
        assembles in a worker thread while the loop keeps answering keys)."""
        with self._assembling:
            warnings = [*self._prom_warnings, *self._skew_warnings()]
            return self._assemble(self._services_now, self._queries, time_range, warnings)

    def take_outages(self) -> list[tuple[str, float, float, str]]:
        """Outages that ended since the last call: (backend, since, until, why)."""
        out, self.outages = self.outages, []
        return out

    def _skew_warnings(self) -> list[str]:
        """R4.6: a server whose ``Date`` is far from our clock is said so on screen."""
        out = []
        for client in (self.prometheus, *self.alertmanagers.values()):
            skew = client.clock_skew if client is not None else None
            if skew is not None and abs(skew) > SKEW_WARN_SECONDS:
                way = "ahead of" if skew > 0 else "behind"
                out.append(
                    f"{client.name} clock is {format_age(abs(skew))} {way} this machine's"  # type: ignore[union-attr]
                    " (silence times use the server's clock)"
                )
        return out

    async def _services_for_refresh(self, now: float) -> list[Service]:
        if self.context.services or self.prometheus is None:
            return self._services
        if not self._discovered or self._refreshes % REDISCOVER_EVERY == 0:
            data = (await self.prometheus.query(discovery_query())).data  # a failure fails the refresh
            if isinstance(data, VectorResult):
                self._services = discover_services(s.metric for s in data.result)
                self._discovered = True
        self._refreshes += 1
        return self._services

    async def fetch_service_history(
        self, service: Service, time_range: TimeRange
    ) -> tuple[dict[str, list[Sample]], dict[str, str]]:
        """Per-signal history of one service at detail resolution, from the exact per-service
        PromQL the detail view shows. Returns (series by signal, error text by signal)."""
        if self.prometheus is None:
            return {}, {"*": "no Prometheus endpoint in this context"}
        start, end, step = time_range.window(self.clock(), points=DETAIL_POINTS)
        exprs = {s: q for s in SIGNALS if (q := service_query(service, s))}
        results = await asyncio.gather(
            *(self.prometheus.query_range(q, start=start, end=end, step=step) for q in exprs.values()),
            return_exceptions=True,
        )
        series: dict[str, list[Sample]] = {}
        errors: dict[str, str] = {}
        for signal, result in zip(exprs, results, strict=True):
            if isinstance(result, BackendError):
                errors[signal] = str(result)
            elif isinstance(result, BaseException):
                errors[signal] = f"{type(result).__name__}"
            else:
                series[signal] = _series_of(result)
        return series, errors

    async def fetch_annotations(self, start: float, end: float) -> list[Annotation]:
        """Grafana's user annotations overlapping ``[start, end]`` (Unix seconds), newest first.

        Empty without a grafana endpoint; raises the setup error or a :class:`BackendError`.
        """
        if self.grafana_error is not None:
            raise self.grafana_error
        if self.grafana is None:
            return []
        return await self.grafana.annotations(
            from_ms=int(start * 1000), to_ms=int(end * 1000), type="annotation"
        )

    async def fetch_llm_signals(self, service: Service) -> dict[str, tuple[float | None, str]]:
        """LLM-serving saturation of one service beyond its triage column (vLLM KV cache,
        waiting/running requests, TTFT p95, tokens/s; Triton queue/compute time; TGI queue):
        {signal: (value now or None, the PromQL)}; empty for other presets."""
        from oncall_tui.core.gpu.serving import llm_saturation_queries

        family = LLM_FAMILIES.get(service.preset or "")
        if self.prometheus is None or family is None:
            return {}
        exprs = {k: q for k, q in llm_saturation_queries().items() if k.split("_")[0] in family}
        answers = await asyncio.gather(*(self.prometheus.query(q) for q in exprs.values()), return_exceptions=True)
        out: dict[str, tuple[float | None, str]] = {}
        for (name, expr), answer in zip(exprs.items(), answers, strict=True):
            data = getattr(answer, "data", None)
            try:
                value = data.by_label("service").get(service.name) if isinstance(data, VectorResult) else None
            except ValueError:  # two series for one service: not an answer we can show
                value = None
            out[name] = (value, expr)
        return out

    async def fetch_budget(
        self,
        service: Service,
        *,
        at: float | None = None,
        incident_start: float | None = None,
        incident_source: str = "",
    ) -> Budget:
        """The error budget of ``service`` (with an availability SLO): its error ratio over the
        SLO window, the four burn windows and the incident's duration, one instant query each,
        all evaluated at ``at`` (default now). A query that fails is named in ``errors`` (the
        others still count); raises :class:`~oncall_tui.core.budget.BudgetUnavailable` when the
        service's error ratio cannot be widened to a window.

        These queries read up to ``slo.window`` of samples: the detail view asks when it opens
        and then every :data:`~oncall_tui.core.budget.BUDGET_REFRESH_SECONDS`, never per refresh.
        """
        at = self.clock() if at is None else at
        queries = budget_queries(service, incident_seconds=None if incident_start is None else at - incident_start)
        ratios: dict[str, float | None] = {}
        errors: dict[str, str] = {}
        if self.prometheus is None:
            errors = {name: "no Prometheus endpoint in this context" for name in queries}
        else:
            answers = await asyncio.gather(
                *(self.prometheus.query(q, time=at) for q in queries.values()), return_exceptions=True
            )
            for name, answer in zip(queries, answers, strict=True):
                if isinstance(answer, BackendError):
                    errors[name] = str(answer)
                elif isinstance(answer, BaseException):
                    errors[name] = f"{type(answer).__name__}: {answer}"[:300]
                else:
                    data = answer.data
                    if not isinstance(data, VectorResult) or len(data.result) > 1:
                        errors[name] = "expected one series (the service's error ratio)"
                    else:
                        ratios[name] = data.result[0].value.value if data.result else None
        return compute_budget(
            service, queries, ratios, at=at, errors=errors,
            incident_start=incident_start, incident_source=incident_source,
        )

    def _assemble(
        self, services: list[Service], queries: dict[str, str], time_range: TimeRange, warnings: list[str]
    ) -> TriageData:
        raw = self._raw
        alerts = merge_alerts(
            raw.get("am_alerts", []),
            raw.get("silences", []),
            raw.get("prom_alerts", []),
            cache=self._alert_cache,
            origins=self.alert_origins if self.members else None,
        )
        ranges = {
            signal: r.data
            for signal in queries
            if (r := raw.get(f"range:{signal}")) is not None and isinstance(r.data, MatrixResult)
        }
        current: dict[str, dict[str, float]] = {}
        for signal in queries:
            r = raw.get(f"instant:{signal}")
            if r is not None and isinstance(r.data, VectorResult):
                current[signal] = r.data.by_label("service")
        burn = raw.get("instant:burn")
        burn_ratio = burn.data.by_label("service") if burn is not None and isinstance(burn.data, VectorResult) else {}
        rows = build_rows(
            services,
            current,
            ranges,
            burn_ratio=burn_ratio,
            firing_by_service=firing_by_service(alerts),
            previous_buckets={r.service: r.bucket for r in self._last.rows},
            history_cache=self._history_cache,
        )
        self._last = TriageData(
            context=self.context.name,
            services=services,
            rows=rows,
            alerts=alerts,
            silences=[x for x in raw.get("silences", []) if isinstance(x, Silence)],
            queries=queries,
            sources=self.sources,
            warnings=warnings,
            time_range=time_range,
            fetched_at=self.clock(),
        )
        return self._last


def _series_of(result: object) -> list[Sample]:
    data = getattr(result, "data", None)
    if isinstance(data, MatrixResult) and data.result:
        return list(data.result[0].values)
    return []
