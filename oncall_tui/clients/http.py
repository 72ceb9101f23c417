"""The request path every backend client shares: retries, error mapping, byte caps, clock skew.

A client wraps one long-lived ``httpx.AsyncClient`` (built by :mod:`oncall_tui.clients.factory`
or handed in by a test or the demo with its own transport) and calls :meth:`ApiClient.request`.

- Idempotent reads are retried on connect errors, 429 and 502/503/504 with exponential
  backoff and full jitter (base 1 s, cap 60 s), honouring ``Retry-After`` (seconds or an
  HTTP date, clamped to [1 s, 300 s]). Writes are never retried (SECURITY.md R4.2).
- Redirects are refused unless the endpoint allows them, and then only to the same origin
  (R5.4): credentials and tenant headers never travel to another host.
- Bodies are read as a stream with a byte cap (R4.5); large JSON is decoded in a thread.
- The server's ``Date`` header gives the clock skew (R4.6) for silence times.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from oncall_tui.clients.errors import (
    MAX_BODY_CHARS,
    AuthFailed,
    BackendError,
    MalformedResponse,
    NotFound,
    QueryRejected,
    RateLimited,
    RedirectRefused,
    ResponseTooLarge,
    SourceUnavailable,
    Timeout,
    clean_message,
)
from oncall_tui.models.common import ShapeError
from oncall_tui.text.redact import redact_url

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
THREAD_PARSE_BYTES = 1024 * 1024
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_REDIRECTS = 5
#: |server clock - ours| above this is warned about (R4.6), in the app and by ``check``.
SKEW_WARN_SECONDS = 30.0

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for idempotent reads (R4.2)."""

    max_retries: int = 3
    base: float = 1.0
    cap: float = 60.0
    retry_after_min: float = 1.0
    retry_after_max: float = 300.0
    #: A wait longer than this is not slept inside the request: the error is raised with
    #: ``retry_after`` set, so the caller shows RETRYING (next in Xs) and asks again later,
    #: instead of one request hanging for the five minutes a ``Retry-After: 86400`` asks for.
    max_inline_wait: float = 10.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, self.retry_after_min), self.retry_after_max)
        return rng.uniform(0, min(self.cap, self.base * (2**attempt)))


NO_RETRY = RetryPolicy(max_retries=0)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


@dataclass
class ApiResponse:
    """A fully read response."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str
    elapsed: float = 0.0

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self, limit: int | None = None) -> str:
        raw = self.body if limit is None else self.body[: limit * 4]
        text = raw.decode("utf-8", errors="replace")
        return text if limit is None else text[:limit]


def _decode_json(body: bytes) -> Any:
    """JSON from bytes. Bytes that are not UTF-8 (a log line written by a broken client, kept
    as-is by Loki) become U+FFFD where they stand: the rest of that line and every other line
    still decode, instead of the whole body failing."""
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        return json.loads(body.decode("utf-8", errors="replace"))


@dataclass
class ApiClient:
    """Base for the typed clients. Subclasses set ``source`` and refine :meth:`error_details`."""

    http: httpx.AsyncClient
    name: str = ""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    follow_redirects: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    #: Our clock (the app's; tests and the demo pass their own): the skew is measured against it.
    clock: Callable[[], float] = time.time
    #: Told before each retry sleep: (attempt, max retries, delay, the error) — for a
    #: ``RETRYING 1/3 next in 2s`` badge while the request is still running.
    on_retry: Callable[[int, int, float, BackendError], None] | None = None

    source = "backend"

    #: Seconds the server's clock is ahead of ours (from the last ``Date`` header), or None.
    clock_skew: float | None = field(default=None, init=False)
    #: Retries scheduled so far (for a RETRYING(n) badge) and the last delay.
    retries_done: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.source

    # ------------------------------------------------------------------ public --
    @property
    def base_url(self) -> str:
        return redact_url(str(self.http.base_url))

    def server_now(self) -> datetime:
        """Now, on the server's clock when the skew is known (R4.6)."""
        return datetime.fromtimestamp(self.clock() + (self.clock_skew or 0.0), UTC)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def get_json(self, path: str, params: Any = None) -> Any:
        """GET an idempotent resource and decode its JSON body (errors mapped)."""
        response = await self.request("GET", path, params=params, idempotent=True)
        return await self.decode_json(response)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        form: Mapping[str, Any] | None = None,
        idempotent: bool,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> ApiResponse:
        """Send one request; retry only when ``idempotent`` (with ``retry``, default the client's
        policy); raise a :class:`BackendError` on failure."""
        policy = (retry or self.retry) if idempotent else NO_RETRY
        attempt = 0
        while True:
            try:
                response = await self._send_following(
                    method, path, params=params, json_body=json_body, form=form, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                err: BackendError = (
                    Timeout(f"connect timed out: {exc}", source=self.name)
                    if isinstance(exc, httpx.ConnectTimeout)
                    else SourceUnavailable(f"cannot connect: {exc}", source=self.name)
                )
                retry_after = None
            else:
                if response.status < 400 or response.status not in RETRY_STATUSES:
                    if response.status >= 300:
                        raise self.error_for(response)
                    return response
                err = self.error_for(response)
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if not self.should_retry(response, err):
                    raise err
            if attempt >= policy.max_retries:
                if retry_after is not None and err.retry_after is None:
                    # the caller honours the server's wait (clamped) before asking again
                    err.retry_after = policy.delay(attempt, self.rng, retry_after)
                raise err
            delay = policy.delay(attempt, self.rng, retry_after)
            if delay > policy.max_inline_wait:
                err.retry_after = delay
                raise err
            attempt += 1
            self.retries_done += 1
            log.info("%s; retry %d in %.1fs", err, attempt, delay)
            if self.on_retry is not None:
                self.on_retry(attempt, policy.max_retries, delay, err)
            await self.sleep(delay)

    def should_retry(self, response: ApiResponse, error: BackendError) -> bool:
        """Whether a 429/502/503/504 is worth retrying (subclasses may refine)."""
        return True

    async def decode_json(self, response: ApiResponse) -> Any:
        """Decode a JSON body; large bodies in a thread; malformed or too-deep JSON is an error."""
        try:
            if len(response.body) > THREAD_PARSE_BYTES:
                return await asyncio.to_thread(_decode_json, response.body)
            return _decode_json(response.body)
        except RecursionError:
            raise MalformedResponse(
                "response JSON is nested too deeply", source=self.name, status=response.status
            ) from None
        except ValueError:
            raise MalformedResponse(
                f"expected JSON, got {response.content_type or 'no content type'}: "
                f"{response.text(MAX_BODY_CHARS)}",
                source=self.name,
                status=response.status,
            ) from None

    async def decode_typed(self, response: ApiResponse, parse: Callable[[bytes], T]) -> T:
        """``parse(body)`` (a models ``parse_*``: bytes straight to typed models, msgspec);
        large bodies in a thread. A :class:`ShapeError` becomes :class:`MalformedResponse`:
        naming the place for a wrong shape, never a value; for a body that is not JSON at all,
        its content type and first characters as :meth:`decode_json` shows them."""
        try:
            if len(response.body) > THREAD_PARSE_BYTES:
                return await asyncio.to_thread(parse, response.body)
            return parse(response.body)
        except ShapeError as exc:
            raise self.malformed(response, exc) from None

    def malformed(self, response: ApiResponse, exc: Exception) -> MalformedResponse:
        """A MalformedResponse for a body that decoded but does not match the API's shape."""
        if isinstance(exc, ShapeError):
            if exc.syntax:
                if exc.detail.endswith("deeply"):
                    message = exc.detail
                elif response.content_type == "application/json":
                    message = f"malformed JSON body: {exc.detail}"
                else:
                    message = (
                        f"expected JSON, got {response.content_type or 'no content type'}: "
                        f"{response.text(MAX_BODY_CHARS)}"
                    )
            else:
                where = f" at {exc.path}" if exc.path else ""
                message = f"unexpected response shape{where}: {exc.detail}"
            return MalformedResponse(message, source=self.name, status=response.status)
        detail = exc.errors()[0] if hasattr(exc, "errors") and exc.errors() else {}
        where = ".".join(str(p) for p in detail.get("loc", ())) if detail else ""
        msg = detail.get("msg", type(exc).__name__) if detail else str(exc)
        return MalformedResponse(
            f"unexpected response shape{' at ' + where if where else ''}: {msg}",
            source=self.name,
            status=response.status,
        )

    # ------------------------------------------------------------ error mapping --
    def error_details(self, response: ApiResponse) -> tuple[str, str | None]:
        """(message, error type) from an error body; subclasses parse their API's shape."""
        return response.text(MAX_BODY_CHARS).strip() or "(empty body)", None

    def error_for(self, response: ApiResponse) -> BackendError:
        """Map a non-2xx response to the error family."""
        status = response.status
        kwargs: dict[str, Any] = {"source": self.name, "status": status, "url": response.url}
        if 300 <= status < 400:
            target = redact_url(response.headers.get("location", "?"))
            return RedirectRefused(f"redirect to {target} not followed", **kwargs)
        message, error_type = self.error_details(response)
        kwargs["error_type"] = error_type
        if status in (401, 403):
            return AuthFailed(message, **kwargs)
        if status == 404:
            return NotFound(message, **kwargs)
        if status == 429:
            return RateLimited(
                message, retry_after=parse_retry_after(response.headers.get("retry-after")), **kwargs
            )
        if status == 504 or error_type == "timeout":
            return Timeout(message, **kwargs)
        if 400 <= status < 500:
            return QueryRejected(message, **kwargs)
        return SourceUnavailable(message, **kwargs)

    # ---------------------------------------------------------------- sending --
    async def _send_following(self, method: str, path: str, **kw: Any) -> ApiResponse:
        response = await self._send_once(method, path, **kw)
        hops = 0
        while self.follow_redirects and response.status in (301, 302, 303, 307, 308):
            location = response.headers.get("location")
            if not location or hops >= MAX_REDIRECTS:
                break
            target = httpx.URL(response.url).join(location)
            origin = httpx.URL(response.url)
            if (target.scheme, target.host, target.port) != (origin.scheme, origin.host, origin.port):
                raise RedirectRefused(
                    f"redirect to another origin ({redact_url(str(target.copy_with(query=None)))}) refused",
                    source=self.name,
                    status=response.status,
                )
            hops += 1
            if response.status == 303:
                method, kw = "GET", {**kw, "json_body": None, "form": None}
            response = await self._send_once(method, str(target), **kw)
        return response

    async def _send_once(
        self,
        method: str,
        path: str,
        *,
        params: Any,
        json_body: Any,
        form: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> ApiResponse:
        request = self.http.build_request(
            method, path, params=params, json=json_body, data=form, headers=headers
        )
        started = time.monotonic()
        try:
            response = await self.http.send(request, stream=True, follow_redirects=False)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise
        except httpx.TimeoutException as exc:
            raise Timeout(
                f"{type(exc).__name__}: no answer within the timeout", source=self.name, url=str(request.url)
            ) from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"{type(exc).__name__}: {clean_message(exc)}", source=self.name, url=str(request.url)
            ) from None
        try:
            body = await self._read_capped(response, str(request.url))
        finally:
            await response.aclose()
        self._note_date(response.headers.get("date"))
        return ApiResponse(
            status=response.status_code,
            headers=response.headers,
            body=body,
            url=str(request.url),
            elapsed=time.monotonic() - started,
        )

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise ResponseTooLarge(
                f"response of {int(declared)} bytes exceeds the {self.max_bytes}-byte cap",
                source=self.name,
                status=response.status_code,
                url=url,
            )
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise ResponseTooLarge(
                        f"response exceeds the {self.max_bytes}-byte cap; narrow the query",
                        source=self.name,
                        status=response.status_code,
                        url=url,
                    )
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise Timeout("timed out while reading the response", source=self.name, url=url) from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"connection lost while reading: {type(exc).__name__}", source=self.name, url=url
            ) from None
        return b"".join(chunks)

    def _note_date(self, value: str | None) -> None:
        if not value:
            return
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        self.clock_skew = when.timestamp() - self.clock()
