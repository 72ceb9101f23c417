"""Drill-down data for one context: logs (Loki), traces (Tempo, exemplars), GPUs (dcgm, NVML).

The screens call these from workers; nothing here imports textual. Each backend has its own
:class:`~oncall_tui.core.triage.SourceState`, so a logs panel shows "loki DOWN 2m" while the
triage screen keeps working. Errors are raised to the caller as the client error family.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from oncall_tui.clients.errors import BackendError, QueryRejected, SourceUnavailable
from oncall_tui.clients.factory import build_http_client
from oncall_tui.clients.prometheus import PrometheusClient
from oncall_tui.core.triage import SourceState
from oncall_tui.models.prometheus import VectorResult
from oncall_tui.settings import Context

if TYPE_CHECKING:  # the Loki/Tempo/GPU modules load on first use, not at start-up
    from oncall_tui.clients.loki import LogFollower, LokiClient
    from oncall_tui.clients.tempo import TempoClient
    from oncall_tui.core.gpu.dcgm import CounterFamily
    from oncall_tui.core.gpu.fleet import FleetGpu
    from oncall_tui.core.logs.conventions import LogConventions
    from oncall_tui.models.loki import LogEntry
    from oncall_tui.models.tempo.search import SearchResult
    from oncall_tui.models.tempo.trace import Trace

#: Lines per Loki request (Loki's default max_entries_limit_per_query is 5000).
LOG_PAGE = 1000


@dataclass
class FleetData:
    """The dcgm-exporter fleet grid, worst first, and the counters the exporter leaves out."""

    gpus: list[FleetGpu] = field(default_factory=list)
    missing: list[CounterFamily] = field(default_factory=list)
    fetched_at: float = 0.0


@dataclass(frozen=True)
class ExemplarRef:
    """An exemplar on a latency histogram: a trace id with its value and time."""

    trace_id: str
    value: float
    timestamp: float
    labels: Mapping[str, str]


class DrillDown:
    """Loki and Tempo clients of a context, plus GPU data through Prometheus and local NVML."""

    def __init__(
        self,
        context: Context,
        prometheus: PrometheusClient | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        env: Mapping[str, str] | None = None,
        allow_insecure: bool = False,
        clock: Callable[[], float] = time.time,
        nvml: Any = None,
    ) -> None:
        self.context = context
        self.prometheus = prometheus
        self.clock = clock
        self.sources: dict[str, SourceState] = {}
        self._clients: dict[str, Any] = {}
        self._setup_errors: dict[str, BackendError] = {}
        self._http_options: dict[str, Any] = {"env": env, "transport": transport, "allow_insecure": allow_insecure}
        for kind in ("loki", "tempo"):
            if context.endpoint(kind) is not None:
                self.sources[kind] = SourceState(kind)
        self._nvml_module = nvml
        self._nvml: Any = None
        self._log_conventions: LogConventions | None = None

    @property
    def loki(self) -> LokiClient | None:
        """The Loki client (built on first use), None without a Loki endpoint or on a setup error."""
        return self._built("loki")

    @property
    def tempo(self) -> TempoClient | None:
        """The Tempo client (built on first use), None without a Tempo endpoint or on a setup error."""
        return self._built("tempo")

    def _built(self, kind: str) -> Any:
        if kind in self._clients or kind in self._setup_errors:
            return self._clients.get(kind)
        endpoint = self.context.endpoint(kind)
        if endpoint is None:
            return None
        if kind == "loki":
            from oncall_tui.clients.loki import LokiClient as cls
        else:
            from oncall_tui.clients.tempo import TempoClient as cls  # type: ignore[assignment]
        try:
            http = build_http_client(endpoint, kind=kind, **self._http_options)
        except BackendError as exc:
            self._setup_errors[kind] = exc
            return None
        client = self._clients[kind] = cls(http, follow_redirects=endpoint.follow_redirects)
        return client

    async def aclose(self) -> None:
        for client in list(self._clients.values()):
            await client.aclose()
        self._clients.clear()
        if self._nvml is not None:
            await asyncio.to_thread(self._nvml.close)

    # ------------------------------------------------------------------ helpers --
    def _client(self, kind: str) -> Any:
        client = self._built(kind)
        if client is None:
            if kind in self._setup_errors:
                raise self._setup_errors[kind]
            raise SourceUnavailable(f"no {kind} endpoint in context {self.context.name!r}", source=kind)
        return client

    async def _tracked(self, kind: str, job: Any) -> Any:
        state = self.sources.get(kind)
        try:
            result = await job
        except QueryRejected:
            if state is not None:  # the backend answered: a bad query is not an outage
                state.ok(self.clock())
            raise
        except BackendError as exc:
            if state is not None:
                state.failed(self.clock(), exc.badge, str(exc))
            raise
        if state is not None:
            state.ok(self.clock())
        return result

    # --------------------------------------------------------------------- logs --
    async def logs(
        self, logql: str, *, start: float, end: float, limit: int = LOG_PAGE, direction: str = "backward"
    ) -> list[LogEntry]:
        """Log lines of ``logql`` in [start, end), oldest first. Metric queries are refused."""
        loki: LokiClient = self._client("loki")
        result = await self._tracked(
            "loki", loki.query_range(logql, start=start, end=end, limit=limit, direction=direction)  # type: ignore[arg-type]
        )
        from oncall_tui.models.loki import StreamsResult

        data = result.data
        if not isinstance(data, StreamsResult):
            raise SourceUnavailable("this is a metric query; the logs view shows log lines", source="loki")
        self.log_conventions.observe_entries(data.entries, categorized=data.categorized)
        return list(data.entries)

    @property
    def log_conventions(self) -> LogConventions:
        """What this context's Loki was seen to call things (service/pod labels, which
        services carry trace ids as structured metadata), learnt from every answer."""
        if self._log_conventions is None:
            from oncall_tui.core.logs.conventions import LogConventions

            self._log_conventions = LogConventions()
        return self._log_conventions

    async def stream_label_map(self, *, start: float, end: float) -> dict[str, str]:
        """Alert label -> this Loki's stream label (``l``): the classic names where its streams
        have them, the OTel ones where they do not (``service`` -> ``service_name``, ``pod`` ->
        ``k8s_pod_name`` for logs written through the OTLP endpoint). Reads ``/labels`` once per
        context; with Loki failing, the classic map (the query then says what Loki said)."""
        from oncall_tui.core.logs.logql import DEFAULT_LABEL_MAP

        conventions = self.log_conventions
        loki = self.loki
        if loki is not None and not conventions.label_names:
            try:
                conventions.observe_label_names(await self._tracked("loki", loki.labels(start=start, end=end)))
            except BackendError:
                pass
        names = set(conventions.label_names)
        mapping = dict(DEFAULT_LABEL_MAP)
        if names and "service" not in names:
            mapping["service"] = conventions.service_label
        if names and "pod" not in names and conventions.pod_label:
            mapping["pod"] = conventions.pod_label
        return mapping

    async def trace_logs_query(self, service: str, trace_id: str, *, start: float, end: float) -> str:
        """The LogQL of ``trace_id``'s lines from ``service`` (trace → logs, ``L``).

        Uses :func:`~oncall_tui.core.logs.conventions.trace_logs_logql` with what is known of this Loki,
        first learning what it needs with two small reads: the label names (``/labels``, once
        per context: ``service_name`` vs ``service``…) and, unless the service is already known
        to carry trace ids as structured metadata, a one-line probe
        ``{…="service"} | trace_id="<id>"`` over [start, end]. Lines found: the query filters on
        the metadata; none, or Loki failing: the text match ``|= "<id>"``. Never raises a
        backend error (raises ``ValueError`` for an empty service or trace id).
        """
        from oncall_tui.core.logs.conventions import trace_logs_logql
        from oncall_tui.core.logs.traceids import normalize_trace_id
        from oncall_tui.models.loki import StreamsResult

        conventions = self.log_conventions
        trace_logs_logql(service, trace_id)  # ValueError before any request
        loki = self.loki
        if loki is None:
            return trace_logs_logql(service, trace_id, conventions)
        try:
            if not conventions.label_names:
                conventions.observe_label_names(await self._tracked("loki", loki.labels(start=start, end=end)))
            hex_id = normalize_trace_id(trace_id)
            if hex_id and conventions.trace_metadata_key(service) is None:
                logql = trace_logs_logql(service, hex_id, conventions, metadata_key="trace_id")
                result = await self._tracked("loki", loki.query_range(logql, start=start, end=end, limit=1))
                data = result.data
                if isinstance(data, StreamsResult) and data.entries:
                    conventions.note_trace_metadata(service)
                    conventions.observe_entries(data.entries, categorized=data.categorized)
        except BackendError:
            pass  # the logs screen shows Loki's trouble itself; the text match still works
        return trace_logs_logql(service, trace_id, conventions)

    def follow(self, logql: str, *, start: float, poll_interval: float = 2.0) -> LogFollower:
        """New lines of ``logql`` from ``start`` on (Unix seconds, or integer nanoseconds as
        :func:`~oncall_tui.models.loki.to_ns` reads them): polls, reconnects, no duplicates."""
        loki: LokiClient = self._client("loki")
        follower = loki.follow(logql, start=start, poll_interval=poll_interval)
        follower.clock = self.clock
        return follower

    # ------------------------------------------------------------------- traces --
    async def trace(self, trace_id: str) -> Trace:
        tempo: TempoClient = self._client("tempo")
        return await self._tracked("tempo", tempo.trace(trace_id))

    async def search_traces(self, traceql: str, *, start: float, end: float, limit: int = 20) -> SearchResult:
        tempo: TempoClient = self._client("tempo")
        return await self._tracked("tempo", tempo.search(traceql, start=start, end=end, limit=limit))

    async def exemplars(self, expr: str, *, start: float, end: float) -> list[ExemplarRef]:
        """Exemplars carrying a trace id for ``expr`` (a histogram's ``_bucket`` selector)."""
        if self.prometheus is None:
            return []
        result = await self.prometheus.query_exemplars(expr, start=start, end=end)
        out: list[ExemplarRef] = []
        for series in result.data:
            for ex in series.exemplars:
                if ex.trace_id:
                    out.append(ExemplarRef(ex.trace_id, ex.value, ex.timestamp, dict(ex.labels)))
        out.sort(key=lambda e: -e.value)
        return out

    # --------------------------------------------------------------------- GPUs --
    async def fleet(self, *, known_services: Sequence[str] = ()) -> FleetData:
        """Every GPU that dcgm-exporter reports through Prometheus, worst first."""
        if self.prometheus is None:
            raise SourceUnavailable("no Prometheus endpoint in this context", source="prometheus")
        from oncall_tui.core.gpu.dcgm import fleet_queries, missing_counters
        from oncall_tui.core.gpu.fleet import build_fleet

        queries = fleet_queries()
        answers = await asyncio.gather(*(self.prometheus.query(q) for q in queries.values()))
        results: dict[str, list[tuple[dict[str, str], float]]] = {}
        for metric, answer in zip(queries, answers, strict=True):
            data = answer.data
            if isinstance(data, VectorResult):
                results[metric] = [(dict(s.metric), s.value.value) for s in data.result]
        gpus = build_fleet(results, known_services=known_services)
        return FleetData(gpus=gpus, missing=missing_counters(results), fetched_at=self.clock())

    def local_gpus(self) -> Any:
        """One NVML snapshot of this host's GPUs (blocking: call it in a thread worker)."""
        if self._nvml is None:
            from oncall_tui.clients.nvml import NvmlSource

            self._nvml = NvmlSource(self._nvml_module)
        return self._nvml.snapshot()


__all__ = ["LOG_PAGE", "DrillDown", "ExemplarRef", "FleetData"]
