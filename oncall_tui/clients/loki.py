"""Typed async client for the Loki HTTP API (v1), as recorded from Loki 3.x.

Quirks it handles (``shared/fixtures/loki/README.md``): errors are ``text/plain``, not JSON;
some endpoints wrap their answer in ``{"status": "success", "data": …}`` (and an unknown
label has no ``data`` at all) while ``buildinfo``, ``index/stats`` and ``detected_*`` do not;
log timestamps are nanosecond strings; a scalar's timestamp is in milliseconds. Queries send
``X-Loki-Response-Encoding-Flags: categorize-labels`` so stream labels, structured metadata
and parsed labels stay apart (a server that ignores it returns the merged form, which parses
too). Rejected queries carry a ``guidance`` attribute (:func:`oncall_tui.core.logs.guidance.guidance_for`).

Follow mode polls ``query_range`` instead of using ``/loki/api/v1/tail``: the tail endpoint
is a WebSocket, which cannot go through the ``httpx`` transport every client shares (auth,
TLS, tenant header, redirect policy, the demo and test transports). :func:`parse_tail_frame`
still parses the tail's frame format.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Literal

import pydantic

from oncall_tui.clients.errors import (
    BackendError,
    QueryRejected,
    RedirectRefused,
    ResponseTooLarge,
    SourceUnavailable,
    Timeout,
)
from oncall_tui.clients.http import (
    THREAD_PARSE_BYTES,
    ApiClient,
    ApiResponse,
    RetryPolicy,
)
from oncall_tui.clients.prometheus import PromResult
from oncall_tui.core.logs.guidance import guidance_for
from oncall_tui.models.common import BuildInfo
from oncall_tui.models.loki import (
    DetectedField,
    DetectedLabel,
    IndexStats,
    LogEntry,
    LogPattern,
    LokiFormatError,
    LokiQueryData,
    StreamsResult,
    decode_query_body,
    gc_paused,
    parse_detected_field_values,
    parse_detected_fields,
    parse_detected_labels,
    parse_loki_query_data,
    parse_patterns,
    parse_tail_frame,
    to_ns,
)
from oncall_tui.models.prometheus import (
    MatrixResult,
    VectorResult,
    parse_series,
    parse_str_list,
)

__all__ = [
    "CATEGORIZE_LABELS",
    "FOLLOW_RECONNECT",
    "MAX_LIMIT",
    "LogFollower",
    "LokiClient",
    "LokiResult",
    "parse_tail_frame",
]

#: Data plus ``warnings`` (a "partial result" badge): the same shape as Prometheus results.
LokiResult = PromResult
Time = int | float | datetime
Direction = Literal["forward", "backward"]

#: Header asking Loki to keep structured metadata and parsed labels out of ``stream``.
CATEGORIZE_LABELS = {"X-Loki-Response-Encoding-Flags": "categorize-labels"}
#: Loki's default ``max_entries_limit_per_query``; follow pages stay at or below it.
MAX_LIMIT = 5000
#: Follow mode's reconnect backoff (after the client's own retries): 1 s doubling to 30 s, forever.
FOLLOW_RECONNECT = RetryPolicy(max_retries=1 << 62, base=1.0, cap=30.0)


def _ns(value: Time | None) -> str | None:
    return None if value is None else str(to_ns(value))


def _step(value: float | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return f"{value:g}"


class LokiClient(ApiClient):
    """query_range, query, labels, label values, series, index stats/volume, detected
    labels/fields, patterns, format_query, buildinfo, and :meth:`follow`."""

    source = "loki"

    # ------------------------------------------------------------------ queries --
    async def query_range(
        self,
        logql: str,
        *,
        start: Time,
        end: Time | None = None,
        limit: int | None = 100,
        direction: Direction = "backward",
        step: float | str | None = None,
        interval: float | str | None = None,
    ) -> LokiResult[LokiQueryData]:
        """Lines (:class:`StreamsResult`, oldest first) or a matrix, for ``start`` ≤ t < ``end``.

        ``end`` defaults to the server's now. ``limit`` is sent as given (Loki rejects more
        than its ``max_entries_limit_per_query``, usually :data:`MAX_LIMIT`).
        """
        params = {
            "query": logql,
            "start": _ns(start),
            "end": _ns(end),
            "limit": limit,
            "direction": _direction(direction),
            "step": _step(step),
            "interval": _step(interval),
        }
        return await self._query("/loki/api/v1/query_range", params)

    async def query(
        self,
        logql: str,
        *,
        time: Time | None = None,
        limit: int | None = None,
        direction: Direction | None = None,
    ) -> LokiResult[LokiQueryData]:
        """Instant query: a metric (vector/scalar). Loki rejects log selectors here (400)."""
        params = {
            "query": logql,
            "time": _ns(time),
            "limit": limit,
            "direction": None if direction is None else _direction(direction),
        }
        return await self._query("/loki/api/v1/query", params)

    # --------------------------------------------------------------- metadata --
    async def labels(
        self, *, start: Time | None = None, end: Time | None = None, query: str | None = None
    ) -> list[str]:
        """Label names seen in the range (``query`` narrows to matching streams)."""
        params = {"start": _ns(start), "end": _ns(end), "query": query}
        return await self._enveloped("/loki/api/v1/labels", params, parse_str_list, default=[])

    async def label_values(
        self,
        name: str,
        *,
        start: Time | None = None,
        end: Time | None = None,
        query: str | None = None,
    ) -> list[str]:
        """Values of label ``name``; an unknown label gives ``[]`` (Loki sends no ``data``)."""
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"invalid label name {name!r}")
        params = {"start": _ns(start), "end": _ns(end), "query": query}
        return await self._enveloped(f"/loki/api/v1/label/{name}/values", params, parse_str_list, default=[])

    async def series(
        self, match: Sequence[str], *, start: Time | None = None, end: Time | None = None
    ) -> list[dict[str, str]]:
        """Label sets of the matching streams, keys sorted (Loki sends them in random order)."""
        if not match:
            raise ValueError("series() needs at least one match[] selector")
        params = {"match[]": list(match), "start": _ns(start), "end": _ns(end)}
        found = await self._enveloped("/loki/api/v1/series", params, parse_series, default=[])
        return [dict(sorted(labels.items())) for labels in found]

    async def buildinfo(self) -> BuildInfo:
        """Version and revision (no envelope)."""
        return await self._plain("/loki/api/v1/status/buildinfo", None, BuildInfo.model_validate)

    async def index_stats(self, query: str, *, start: Time | None = None, end: Time | None = None) -> IndexStats:
        """Streams/chunks/bytes/entries; counts only flushed chunks (zeros are not "no logs")."""
        params = {"query": query, "start": _ns(start), "end": _ns(end)}
        return await self._plain("/loki/api/v1/index/stats", params, IndexStats.model_validate)

    async def index_volume(
        self,
        query: str,
        *,
        start: Time | None = None,
        end: Time | None = None,
        target_labels: Sequence[str] = (),
        limit: int | None = None,
    ) -> VectorResult:
        """Bytes per ``target_labels`` value (a vector; counts unflushed data too)."""
        params = {
            "query": query,
            "start": _ns(start),
            "end": _ns(end),
            "targetLabels": ",".join(target_labels) or None,
            "limit": limit,
        }
        data = await self._enveloped("/loki/api/v1/index/volume", params, parse_loki_query_data)
        return _expect(data, VectorResult, "vector")

    async def index_volume_range(
        self,
        query: str,
        *,
        start: Time,
        end: Time | None = None,
        step: float | str | None = None,
        target_labels: Sequence[str] = (),
    ) -> MatrixResult:
        """Bytes per ``target_labels`` value over time (a matrix)."""
        params = {
            "query": query,
            "start": _ns(start),
            "end": _ns(end),
            "step": _step(step),
            "targetLabels": ",".join(target_labels) or None,
        }
        data = await self._enveloped("/loki/api/v1/index/volume_range", params, parse_loki_query_data)
        return _expect(data, MatrixResult, "matrix")

    async def detected_labels(
        self, query: str, *, start: Time | None = None, end: Time | None = None
    ) -> list[DetectedLabel]:
        params = {"query": query, "start": _ns(start), "end": _ns(end)}
        return await self._plain("/loki/api/v1/detected_labels", params, parse_detected_labels)

    async def detected_fields(
        self, query: str, *, start: Time | None = None, end: Time | None = None, limit: int | None = None
    ) -> list[DetectedField]:
        params = {"query": query, "start": _ns(start), "end": _ns(end), "limit": limit}
        return await self._plain("/loki/api/v1/detected_fields", params, parse_detected_fields)

    async def detected_field_values(
        self, name: str, query: str, *, start: Time | None = None, end: Time | None = None
    ) -> list[str]:
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"invalid field name {name!r}")
        params = {"query": query, "start": _ns(start), "end": _ns(end)}
        return await self._plain(f"/loki/api/v1/detected_field/{name}/values", params, parse_detected_field_values)

    async def patterns(
        self, query: str, *, start: Time | None = None, end: Time | None = None, step: float | str | None = None
    ) -> list[LogPattern]:
        """Patterns from Loki's pattern ingester (may be empty for some services)."""
        params = {"query": query, "start": _ns(start), "end": _ns(end), "step": _step(step)}
        return await self._enveloped("/loki/api/v1/patterns", params, parse_patterns, default=[])

    async def format_query(self, query: str) -> str:
        """Loki's canonical formatting of ``query`` (a 400 if it does not parse)."""

        def text(data: Any) -> str:
            if not isinstance(data, str):
                raise ValueError("expected the formatted query as a string")
            return data

        return await self._enveloped("/loki/api/v1/format_query", {"query": query}, text)

    # ------------------------------------------------------------------ follow --
    def follow(
        self,
        logql: str,
        *,
        start: Time,
        limit: int = 1000,
        poll_interval: float = 2.0,
        overlap: float = 0.0,
        reconnect: RetryPolicy = FOLLOW_RECONNECT,
    ) -> LogFollower:
        """New lines of a log query as they arrive: ``async for batch in client.follow(q, start=t)``.

        Polls ``query_range`` every ``poll_interval`` seconds rather than opening Loki's
        ``/tail`` WebSocket, which cannot go through this client's httpx transport (auth, TLS,
        tenant header, redirect policy, demo and test transports). ``overlap`` (seconds)
        re-reads that much before the newest line to catch late, out-of-order lines. See
        :class:`LogFollower` for how it resumes without duplicates or gaps.
        """
        return LogFollower(
            self,
            logql,
            start=to_ns(start),
            limit=limit,
            poll_interval=poll_interval,
            overlap_ns=round(overlap * 1e9),
            reconnect=reconnect,
        )

    # ----------------------------------------------------------------- plumbing --
    async def decode_json(self, response: ApiResponse) -> Any:
        """As :meth:`ApiClient.decode_json`; a big body decodes with the GC paused (no cycles)."""
        if len(response.body) <= THREAD_PARSE_BYTES:
            return await super().decode_json(response)
        with gc_paused():
            return await super().decode_json(response)

    async def _get(self, path: str, params: dict[str, Any] | None) -> tuple[ApiResponse, Any]:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, [])}
        response = await self.request("GET", path, params=clean or None, idempotent=True)
        return response, await self.decode_json(response)

    async def _parse(self, response: ApiResponse, parse: Callable[[Any], Any], data: Any) -> Any:
        try:
            if len(response.body) > THREAD_PARSE_BYTES:
                return await asyncio.to_thread(parse, data)
            return parse(data)
        except (pydantic.ValidationError, ValueError, TypeError) as exc:
            raise self.malformed(response, exc) from None

    def _unwrap(self, response: ApiResponse, body: Any) -> tuple[bool, Any]:
        """(has data, data) of a ``{status, data}`` envelope."""
        if not isinstance(body, dict) or body.get("status") != "success":
            raise self.malformed(response, ValueError("missing {status: success} envelope"))
        return "data" in body, body.get("data")

    async def _query(self, path: str, params: dict[str, Any]) -> LokiResult[LokiQueryData]:
        """A log or metric query: the body is decoded straight from bytes (log lines never exist
        as JSON objects; the GC paused for a big body), in a worker thread for a big one."""
        clean = {k: v for k, v in params.items() if v not in (None, [])}
        response = await self.request("GET", path, params=clean or None, idempotent=True, headers=CATEGORIZE_LABELS)
        try:
            if len(response.body) > THREAD_PARSE_BYTES:
                decoded = await asyncio.to_thread(decode_query_body, response.body)
            else:
                decoded = decode_query_body(response.body)
        except LokiFormatError as exc:
            if exc.syntax:
                await self.decode_json(response)  # raises its MalformedResponse (status, type, first chars)
            raise self.malformed(response, exc) from None
        except (pydantic.ValidationError, ValueError, TypeError) as exc:
            raise self.malformed(response, exc) from None
        if decoded.status != "success":
            raise self.malformed(response, ValueError("missing {status: success} envelope"))
        if not decoded.has_data:
            raise self.malformed(response, ValueError("query response has no data"))
        return LokiResult(data=decoded.data, warnings=_strings(decoded.warnings) + _strings(decoded.data_warnings))

    async def _enveloped(
        self, path: str, params: dict[str, Any] | None, parse: Callable[[Any], Any], *, default: Any = ...
    ) -> Any:
        response, body = await self._get(path, params)
        has_data, data = self._unwrap(response, body)
        if not has_data or data is None:
            if default is ...:
                raise self.malformed(response, ValueError("response has no data"))
            return default
        return await self._parse(response, parse, data)

    async def _plain(self, path: str, params: dict[str, Any] | None, parse: Callable[[Any], Any]) -> Any:
        """An endpoint without an envelope (tolerates one, should a server add it)."""
        response, body = await self._get(path, params)
        if isinstance(body, dict) and body.get("status") == "success" and "data" in body:
            body = body["data"]
        return await self._parse(response, parse, body)

    def error_details(self, response: ApiResponse) -> tuple[str, str | None]:
        # Loki answers errors in text/plain; a proxy or a newer server may send JSON.
        if response.content_type == "application/json":
            body = _json_or_none(response)
            if isinstance(body, dict):
                message = body.get("error") or body.get("message")
                if isinstance(message, str) and message:
                    error_type = body.get("errorType")
                    return message, error_type if isinstance(error_type, str) else None
        return super().error_details(response)

    def error_for(self, response: ApiResponse) -> BackendError:
        err = super().error_for(response)
        if isinstance(err, QueryRejected):
            # Limit and syntax errors get advice; they are never retried (4xx).
            err.guidance = guidance_for(err)  # type: ignore[attr-defined]
        return err


def _direction(value: str) -> str:
    if value not in ("forward", "backward"):
        raise ValueError("direction must be 'forward' or 'backward'")
    return value


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _json_or_none(response: ApiResponse) -> Any:
    try:
        return json.loads(response.body)
    except (ValueError, RecursionError):
        return None


def _expect(data: Any, kind: type, name: str) -> Any:
    if not isinstance(data, kind):
        raise ValueError(f"expected a {name} result")
    return data


class LogFollower:
    """Async iterator of batches of new log entries, by polling ``query_range``.

    Each poll asks ``direction=forward`` from the resume point (the newest timestamp seen,
    minus ``overlap`` for late out-of-order lines) and yields, oldest first, only entries it
    has not yielded before: entries at the resume timestamp are told apart by (timestamp,
    stream labels, line). A full page (``limit`` entries) is followed at once by the next, so
    a burst is not cut; a full page of lines already seen (more than a page at one timestamp)
    is asked again with a bigger page, up to :data:`MAX_LIMIT`, and only beyond that are the
    remaining lines at that timestamp skipped.

    On a connection error, timeout or 5xx (after the client's own retries) it waits with
    ``reconnect`` backoff and polls again from the same resume point: no gaps, no duplicates.
    A rejected query or failed auth ends the iteration with that error. While it retries,
    :attr:`disconnected_since` and :attr:`last_error` say "disconnected at T" and why.
    """

    def __init__(
        self,
        client: LokiClient,
        logql: str,
        *,
        start: int,
        limit: int = 1000,
        poll_interval: float = 2.0,
        overlap_ns: int = 0,
        reconnect: RetryPolicy = FOLLOW_RECONNECT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        self.client = client
        self.logql = logql
        self.limit = limit
        self.poll_interval = poll_interval
        self.overlap_ns = max(overlap_ns, 0)
        self.reconnect = reconnect
        self.clock = clock
        #: The newest timestamp yielded so far (ns): the next poll starts here.
        self.resume_ns = start
        #: Keys of yielded entries at or after ``resume_ns - overlap_ns``, with their timestamps.
        self._seen: dict[tuple[int, Any, str], int] = {}
        self._skip_to: int | None = None
        self._page = limit
        self.polls = 0
        self.reconnects = 0
        #: Unix time of the first failed poll of the current outage; None while connected.
        self.disconnected_since: float | None = None
        self.last_error: BackendError | None = None

    def __aiter__(self) -> AsyncIterator[list[LogEntry]]:
        return self._run()

    async def _run(self) -> AsyncIterator[list[LogEntry]]:
        failures = 0
        while True:
            try:
                batch, full = await self.poll()
            except (SourceUnavailable, Timeout) as err:
                if isinstance(err, ResponseTooLarge | RedirectRefused) or failures >= self.reconnect.max_retries:
                    raise
                if self.disconnected_since is None:
                    self.disconnected_since = self.clock()
                self.last_error = err
                delay = self.reconnect.delay(failures, self.client.rng, err.retry_after)
                failures += 1
                self.reconnects += 1
                await self.client.sleep(delay)
                continue
            failures = 0
            self.disconnected_since = None
            self.last_error = None
            if batch:
                yield batch
            if not full:
                await self.client.sleep(self.poll_interval)

    async def poll(self) -> tuple[list[LogEntry], bool]:
        """One ``query_range`` page: (new entries oldest first, whether to poll again at once).

        The resume point moves only after a successful page, so a failed poll is repeated.
        """
        start = self._skip_to if self._skip_to is not None else self.resume_ns - self.overlap_ns
        self.polls += 1
        result = await self.client.query_range(self.logql, start=start, limit=self._page, direction="forward")
        data = result.data
        if not isinstance(data, StreamsResult):
            raise QueryRejected("follow needs a log query, not a metric query", source=self.client.name)
        entries = data.entries
        seen = self._seen
        fresh = []
        for entry in entries:
            key = entry.key
            if key not in seen:
                seen[key] = entry.ts
                fresh.append(entry)
        full = len(entries) >= self._page
        self._skip_to = None
        if full and not fresh:
            # A full page of lines already yielded: more than a page shares the resume
            # timestamp (or the overlap). Ask for a bigger page; at Loki's limit, step past it.
            if self._page < MAX_LIMIT:
                self._page = min(self._page * 2, MAX_LIMIT)
            else:
                self._skip_to = entries[-1].ts + 1
        elif fresh:
            self._page = self.limit
        if fresh and fresh[-1].ts > self.resume_ns:
            self.resume_ns = fresh[-1].ts
            floor = self.resume_ns - self.overlap_ns
            self._seen = {k: ts for k, ts in seen.items() if ts >= floor}
        return fresh, full
