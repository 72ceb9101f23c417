"""Typed async client for the Tempo HTTP API, as recorded from Tempo v3.1.0-dev (and older).

- :meth:`TempoClient.trace` normalises the id (hex in any case, leading zeros stripped or not,
  base64), asks ``/api/v2/traces/{id}`` and falls back to ``/api/traces/{id}`` when v2 is a
  404 (Tempo before 2.5 has no v2 route). "Not found" has two shapes: v1 answers 404 with an
  empty body, v2 answers 200 with ``{"trace": {}}``; both raise :class:`NotFound`.
- Tempo's errors are plain text (``invalid TraceQL query: ...``); they reach the user in the
  backend's own words, sanitised (``errors.py``). ``429 job queue full`` is
  :class:`RateLimited` and retried like every idempotent read (R4.2).
- Time parameters are unix **seconds** (Loki's are nanoseconds): start is rounded down and
  end up, so the window always covers what was asked.
- Trace bodies are decoded straight from bytes into typed structs (msgspec; the GC paused for a
  big one); large bodies in a worker thread so the UI keeps painting. A trace by id may be
  bigger than other answers (:attr:`TempoClient.trace_max_bytes`).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from oncall_tui.clients.errors import MAX_BODY_CHARS, NotFound
from oncall_tui.clients.http import THREAD_PARSE_BYTES, ApiClient, ApiResponse
from oncall_tui.core.traceql import duration_literal
from oncall_tui.models.common import BuildInfo
from oncall_tui.models.tempo.decode import parse_trace
from oncall_tui.models.tempo.ids import normalize_trace_id
from oncall_tui.models.tempo.metrics import MetricSeries, parse_metrics
from oncall_tui.models.tempo.search import SearchResult, parse_search
from oncall_tui.models.tempo.tags import TagValue, parse_tag_names, parse_tag_values
from oncall_tui.models.tempo.trace import Trace
from oncall_tui.models.tempo.values import TempoFormatError

T = TypeVar("T")
Time = float | datetime
Duration = float | str  # seconds, or a Tempo duration string ("500ms")

ACCEPT_JSON = {"Accept": "application/json"}
_SCOPE_PREFIX = re.compile(r"^(?:resource|span|event|link|instrumentation)\.")
_RANGE_LIMIT = re.compile(r"\b(?:range|duration)\b[^.]*\bexceed", re.IGNORECASE)
_LOGFMT_BARE = re.compile(r'[^\s="\\]+')
#: The byte cap of the request being read, where it differs from the client's (a trace by id).
_READ_CAP: contextvars.ContextVar[int | None] = contextvars.ContextVar("tempo_read_cap", default=None)


def _seconds(value: Time | None, *, up: bool = False) -> str | None:
    """A time as Tempo's unix-seconds parameter (start floored, end ceiled)."""
    if value is None:
        return None
    ts = value.timestamp() if isinstance(value, datetime) else float(value)
    return str(math.ceil(ts) if up else math.floor(ts))


def _duration(value: Duration | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return duration_literal(value)


def _logfmt(tags: Mapping[str, str] | str) -> str:
    """``{"service.name": "llm-server", "http.status_code": "500"}`` → Tempo's ``tags=`` logfmt."""
    if isinstance(tags, str):
        return tags
    parts = []
    for key, value in tags.items():
        if not _LOGFMT_BARE.fullmatch(key):
            raise ValueError(f"tag name {key!r} cannot be used in a tags= search")
        text = str(value)
        if not _LOGFMT_BARE.fullmatch(text):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


def _tag_path(tag: str) -> str:
    if not tag or "/" in tag or tag.strip() != tag:
        raise ValueError(f"invalid tag name {tag!r}")
    return quote(tag, safe=".:-_")


class TempoClient(ApiClient):
    """trace by id, TraceQL and tag search, tag names/values, TraceQL metrics, buildinfo, echo."""

    source = "tempo"

    #: Byte cap of a trace-by-id answer (~800 bytes of JSON per span: ~160,000 spans).
    trace_max_bytes: ClassVar[int] = 128 * 1024 * 1024

    #: Learnt on the first fallback: this Tempo has no v2 trace / v2 tag routes.
    _v1_traces: bool = False
    _v1_tags: bool = False

    # -------------------------------------------------------------------- traces --
    async def trace(
        self,
        trace_id: str,
        *,
        start: Time | None = None,
        end: Time | None = None,
        span_filter: str | None = None,
        keep_hierarchy: bool = False,
    ) -> Trace:
        """One trace by id (any spelling; ``InvalidTraceId`` before any request if it is none).

        ``start``/``end`` narrow the blocks Tempo searches (faster on big installations).
        ``span_filter`` (TraceQL, v2 only) returns only matching spans; the trace is then
        marked ``partial``. Raises :class:`NotFound` for an unknown id.
        """
        hex_id = normalize_trace_id(trace_id)
        params = {"start": _seconds(start), "end": _seconds(end, up=True)}
        if not self._v1_traces:
            v2 = {**params, "q": span_filter, "keep_hierarchy": "true" if keep_hierarchy else None}
            try:
                response = await self._get_trace(f"/api/v2/traces/{hex_id}", v2)
            except NotFound:
                pass  # older Tempo: no v2 route (v2 itself answers 200 for unknown ids)
            else:
                return await self._trace_or_not_found(response, hex_id)
        try:
            response = await self._get_trace(f"/api/traces/{hex_id}", params)
        except NotFound as exc:
            detail = "" if exc.message in ("", "(empty body)") else f" ({exc.message})"
            raise NotFound(
                f"trace {hex_id} not found{detail}", source=self.name, status=exc.status, url=exc.url
            ) from None
        trace = await self._trace_or_not_found(response, hex_id)
        self._v1_traces = True
        return trace

    async def _trace_or_not_found(self, response: ApiResponse, hex_id: str) -> Trace:
        trace = await self._parse_bytes(response, lambda body: parse_trace(body, trace_id=hex_id))
        if trace.empty:
            raise NotFound(f"trace {hex_id} not found", source=self.name, url=response.url)
        return trace

    # -------------------------------------------------------------------- search --
    async def search(
        self,
        traceql: str,
        *,
        start: Time | None = None,
        end: Time | None = None,
        limit: int | None = None,
        spss: int | None = None,
    ) -> SearchResult:
        """TraceQL search. Without start/end Tempo searches only recent data (the live store).

        ``limit`` caps traces (Tempo's default 20), ``spss`` spans per span set (default 3).
        """
        params = {
            "q": traceql,
            "start": _seconds(start),
            "end": _seconds(end, up=True),
            "limit": limit,
            "spss": spss,
        }
        return await self._parse(await self._get("/api/search", params), parse_search)

    async def search_tags(
        self,
        tags: Mapping[str, str] | str,
        *,
        start: Time | None = None,
        end: Time | None = None,
        limit: int | None = None,
        min_duration: Duration | None = None,
        max_duration: Duration | None = None,
    ) -> SearchResult:
        """Tag search (``tags=`` logfmt). Results have no span sets or service stats; note
        that Jaeger-style ``error=true`` matches nothing, use ``status.code=error``."""
        params = {
            "tags": _logfmt(tags),
            "minDuration": _duration(min_duration),
            "maxDuration": _duration(max_duration),
            "start": _seconds(start),
            "end": _seconds(end, up=True),
            "limit": limit,
        }
        return await self._parse(await self._get("/api/search", params), parse_search)

    # ---------------------------------------------------------------------- tags --
    async def tag_names(self, scope: str | None = None) -> dict[str, list[str]]:
        """Tag names by scope (``resource``, ``span``, ``intrinsic``, ``event``, ``link``).

        Uses v2; on a Tempo without it, v1's unscoped list comes back under ``UNSCOPED``.
        """
        if not self._v1_tags:
            try:
                response = await self._get("/api/v2/search/tags", {"scope": scope})
            except NotFound:
                pass
            else:
                return await self._parse(response, parse_tag_names)
        response = await self._get("/api/search/tags", {"scope": scope})
        self._v1_tags = True
        return await self._parse(response, parse_tag_names)

    async def tag_values(
        self,
        tag: str,
        *,
        traceql: str | None = None,
        start: Time | None = None,
        end: Time | None = None,
    ) -> list[TagValue]:
        """Values of a tag (v2 scoped name like ``resource.service.name``), optionally only
        those of spans matching ``traceql``. Falls back to v1 (unscoped name, no filter)."""
        params = {"q": traceql, "start": _seconds(start), "end": _seconds(end, up=True)}
        if not self._v1_tags:
            try:
                response = await self._get(f"/api/v2/search/tag/{_tag_path(tag)}/values", params)
            except NotFound:
                pass
            else:
                return await self._parse(response, parse_tag_values)
        v1_tag = _SCOPE_PREFIX.sub("", tag.lstrip("."))
        response = await self._get(
            f"/api/search/tag/{_tag_path(v1_tag)}/values", {"start": params["start"], "end": params["end"]}
        )
        self._v1_tags = True
        return await self._parse(response, parse_tag_values)

    # ------------------------------------------------------------------- metrics --
    async def metrics_query_range(
        self, traceql: str, *, start: Time, end: Time, step: Duration | None = None
    ) -> list[MetricSeries]:
        """TraceQL metrics over a range (``{ } | rate() by (resource.service.name)``)."""
        params = {
            "q": traceql,
            "start": _seconds(start),
            "end": _seconds(end, up=True),
            "step": _duration(step),
        }
        return await self._parse(await self._get("/api/metrics/query_range", params), parse_metrics)

    async def metrics_query(self, traceql: str, *, start: Time, end: Time) -> list[MetricSeries]:
        """TraceQL metrics, one value per series for the whole window."""
        params = {"q": traceql, "start": _seconds(start), "end": _seconds(end, up=True)}
        return await self._parse(await self._get("/api/metrics/query", params), parse_metrics)

    # ---------------------------------------------------------------------- misc --
    async def buildinfo(self) -> BuildInfo:
        response = await self._get("/api/status/buildinfo", None)
        body = await self.decode_json(response)
        try:
            return BuildInfo.model_validate(body)
        except pydantic.ValidationError as exc:
            raise self.malformed(response, exc) from None

    async def echo(self) -> bool:
        """``/api/echo``: True when the query frontend answers (a cheap liveness probe)."""
        response = await self._get("/api/echo", None)
        if response.text(16).strip() != "echo":
            raise self.malformed(response, ValueError("/api/echo did not answer 'echo'"))
        return True

    # ------------------------------------------------------------------ plumbing --
    async def _get_trace(self, path: str, params: Mapping[str, Any] | None) -> ApiResponse:
        token = _READ_CAP.set(max(self.trace_max_bytes, self.max_bytes))
        try:
            return await self._get(path, params)
        finally:
            _READ_CAP.reset(token)

    async def _get(self, path: str, params: Mapping[str, Any] | None) -> ApiResponse:
        clean = {k: str(v) for k, v in (params or {}).items() if v is not None}
        return await self.request("GET", path, params=clean or None, idempotent=True, headers=ACCEPT_JSON)

    async def _parse_bytes(self, response: ApiResponse, parse: Callable[[bytes], T]) -> T:
        """``parse(body bytes)``: decoded straight into typed structs (msgspec, the GC paused
        for a big body), in a worker thread for a big one. A body that is not JSON at all is
        reported as :meth:`decode_json` reports it (status, content type, first characters);
        a wrong shape as :class:`MalformedResponse` naming the field path, never a value."""
        try:
            if len(response.body) > THREAD_PARSE_BYTES:
                return await asyncio.to_thread(parse, response.body)
            return parse(response.body)
        except TempoFormatError as exc:
            if str(exc).startswith("trace response is not valid JSON"):
                await self.decode_json(response)  # raises its MalformedResponse for a non-JSON body
            raise self.malformed(response, exc) from None

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        """As :meth:`ApiClient._read_capped`; a trace by id may be up to :attr:`trace_max_bytes`
        (a 50,000-span trace is ~40 MB of JSON, over the default cap for other answers)."""
        cap = _READ_CAP.get()
        if cap is None or cap <= self.max_bytes:
            return await super()._read_capped(response, url)
        wider = dataclasses.replace(self, max_bytes=cap)
        return await ApiClient._read_capped(wider, response, url)

    async def _parse(self, response: ApiResponse, parse: Callable[[Any], T]) -> T:
        """Decode JSON and parse it; big bodies in a worker thread; shape errors → Malformed."""
        body = await self.decode_json(response)
        try:
            if len(response.body) > THREAD_PARSE_BYTES:
                return await asyncio.to_thread(parse, body)
            return parse(body)
        except TempoFormatError as exc:
            raise self.malformed(response, exc) from None

    def error_details(self, response: ApiResponse) -> tuple[str, str | None]:
        """Tempo answers errors in plain text; OTLP ingest in ``{"code", "message"}`` JSON."""
        message, error_type = super().error_details(response)
        if response.content_type == "application/json":
            try:
                body = json.loads(response.body)
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("message") or body.get("error"), str):
                message = (body.get("message") or body.get("error"))[:MAX_BODY_CHARS]
        if response.status in (400, 422) and _RANGE_LIMIT.search(message):
            message += " (narrow the time range or add selectors)"
        return message, error_type


__all__ = ["TempoClient"]
