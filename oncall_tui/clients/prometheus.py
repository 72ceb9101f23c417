"""Typed async client for the Prometheus HTTP API (v1), as recorded from Prometheus 2.42.

Bodies are decoded straight from bytes (``oncall_tui.models.prometheus``, msgspec): the
envelope first, leaving ``data`` encoded, then ``data`` by the endpoint's typed parser. A body
of the wrong shape is a ``MalformedResponse`` naming the field (``$.data.result[0].value``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from oncall_tui.clients.errors import BackendError
from oncall_tui.clients.http import ApiClient, ApiResponse, RetryPolicy
from oncall_tui.models.common import ElementCache, ShapeError
from oncall_tui.models.prometheus import (
    BuildInfo,
    ExemplarSeries,
    PromAlert,
    QueryData,
    RulesData,
    parse_buildinfo,
    parse_envelope,
    parse_error_body,
    parse_exemplars,
    parse_prom_alerts,
    parse_query_data,
    parse_rules,
    parse_series,
    parse_str_list,
)

T = TypeVar("T")

#: Read endpoints this client calls with POST (a form body instead of a query string).
READ_POST_PATHS = frozenset({"/api/v1/query", "/api/v1/query_range", "/api/v1/query_exemplars", "/api/v1/series"})


def is_write(method: str, path: str) -> bool:
    """Whether a request changes anything: every non-GET except Prometheus' POSTed reads."""
    method = method.upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    return not (method == "POST" and path in READ_POST_PATHS)
Time = float | datetime


@dataclass(frozen=True)
class PromResult(Generic[T]):
    """Data plus the ``warnings``/``infos`` Prometheus attached (a "partial result" badge)."""

    data: T
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return bool(self.warnings)


def _ts(value: Time | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.timestamp()
    return f"{value:.3f}"


class PrometheusClient(ApiClient):
    """query, query_range, alerts, rules, query_exemplars, labels, label values, series, buildinfo."""

    source = "prometheus"

    def _server_timeout(self) -> str | None:
        """``timeout=`` for queries: one second below the client's read timeout (R4.4)."""
        read = self.http.timeout.read
        if read is None:
            return None
        return f"{max(read - 1.0, 1.0):g}s"

    # ------------------------------------------------------------------ queries --
    async def query(self, expr: str, *, time: Time | None = None, retry: RetryPolicy | None = None) -> PromResult[QueryData]:
        """Instant query: vector, matrix (range selector), scalar or string."""
        params = {"query": expr, "time": _ts(time), "timeout": self._server_timeout()}
        return await self._call("/api/v1/query", params, parse_query_data, post=True, retry=retry)

    async def query_range(
        self, expr: str, *, start: Time, end: Time, step: float, retry: RetryPolicy | None = None
    ) -> PromResult[QueryData]:
        """Range query; the result is a matrix (series may differ in length; NaN kept)."""
        params = {
            "query": expr,
            "start": _ts(start),
            "end": _ts(end),
            "step": f"{step:g}",
            "timeout": self._server_timeout(),
        }
        return await self._call("/api/v1/query_range", params, parse_query_data, post=True, retry=retry)

    async def query_exemplars(
        self, expr: str, *, start: Time, end: Time
    ) -> PromResult[list[ExemplarSeries]]:
        params = {"query": expr, "start": _ts(start), "end": _ts(end)}
        return await self._call("/api/v1/query_exemplars", params, parse_exemplars, post=True)

    # ------------------------------------------------------------------- alerts --
    async def alerts(self, *, retry: RetryPolicy | None = None) -> list[PromAlert]:
        """Firing and pending alerts as Prometheus sees them (no external labels)."""
        # An alert whose JSON did not change since the last call keeps its model.
        cache = self.__dict__.get("_alerts_cache")
        if cache is None:
            cache = self._alerts_cache = ElementCache()
        parse = functools.partial(parse_prom_alerts, cache=cache)
        result = await self._call("/api/v1/alerts", None, parse, retry=retry)
        return list(result.data.alerts)

    async def rules(self, *, type: str | None = None) -> RulesData:
        """Rule groups; ``type`` is ``alert`` or ``record``."""
        result = await self._call("/api/v1/rules", {"type": type}, parse_rules)
        return result.data

    # --------------------------------------------------------------- metadata --
    async def labels(
        self, *, match: Sequence[str] = (), start: Time | None = None, end: Time | None = None
    ) -> list[str]:
        params = {"match[]": list(match), "start": _ts(start), "end": _ts(end)}
        return (await self._call("/api/v1/labels", params, parse_str_list)).data

    async def label_values(
        self,
        name: str,
        *,
        match: Sequence[str] = (),
        start: Time | None = None,
        end: Time | None = None,
    ) -> list[str]:
        if not name or "/" in name:
            raise ValueError(f"invalid label name {name!r}")
        params = {"match[]": list(match), "start": _ts(start), "end": _ts(end)}
        return (await self._call(f"/api/v1/label/{name}/values", params, parse_str_list)).data

    async def series(
        self, match: Sequence[str], *, start: Time | None = None, end: Time | None = None
    ) -> list[dict[str, str]]:
        if not match:
            raise ValueError("series() needs at least one match[] selector")
        params = {"match[]": list(match), "start": _ts(start), "end": _ts(end)}
        return (await self._call("/api/v1/series", params, parse_series, post=True)).data

    async def buildinfo(self) -> BuildInfo:
        return (await self._call("/api/v1/status/buildinfo", None, parse_buildinfo)).data

    # ----------------------------------------------------------------- plumbing --
    async def _call(
        self, path: str, params: dict[str, Any] | None, parse: Any, *, post: bool = False, retry: RetryPolicy | None = None
    ) -> PromResult[Any]:
        """``post``: send the parameters as a form body (Prometheus accepts POST for queries and
        series). A batched PromQL over many services, or one with a 100 KB label value, does not
        fit in a URL; a form body has no such limit. Still an idempotent read: retried as a GET is."""
        clean = {k: v for k, v in (params or {}).items() if v not in (None, [])}
        if post:
            response = await self.request("POST", path, form=clean, idempotent=True, retry=retry)
        else:
            response = await self.request("GET", path, params=clean or None, idempotent=True, retry=retry)
        def decode(body: bytes) -> PromResult[Any]:
            data, warnings, infos = parse_envelope(body)
            try:
                return PromResult(data=parse(data), warnings=warnings, infos=infos)
            except ShapeError as exc:
                raise exc.within("$.data") from None

        return await self.decode_typed(response, decode)

    def error_details(self, response: ApiResponse) -> tuple[str, str | None]:
        if response.content_type == "application/json":
            try:
                err = parse_error_body(response.body)
            except ValueError:
                pass
            else:
                return err.error, err.error_type
        return super().error_details(response)

    def should_retry(self, response: ApiResponse, error: BackendError) -> bool:
        # A query that hit Prometheus' own timeout (503, errorType "timeout") will time out
        # again; re-running it only loads a server that is already struggling.
        return error.error_type != "timeout"


__all__ = ["READ_POST_PATHS", "PromResult", "PrometheusClient", "is_write"]
