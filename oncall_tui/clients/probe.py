"""Probe an endpoint: its server version and round-trip latency (``oncall-tui check``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from oncall_tui.clients.alertmanager import AlertmanagerClient
from oncall_tui.clients.errors import BackendError, MalformedResponse, clean_message
from oncall_tui.clients.factory import build_http_client
from oncall_tui.clients.http import NO_RETRY, ApiClient
from oncall_tui.clients.prometheus import PrometheusClient
from oncall_tui.text.redact import redact_url
from oncall_tui.settings import Endpoint

#: Where each backend reports its version.
VERSION_PATHS = {
    "loki": "/loki/api/v1/status/buildinfo",
    "tempo": "/api/status/buildinfo",
    "grafana": "/api/health",
}


@dataclass(frozen=True)
class ProbeResult:
    kind: str
    url: str
    auth: str
    proxy: str | None
    ok: bool
    version: str | None = None
    latency_ms: float | None = None
    badge: str = "OK"
    message: str = ""
    clock_skew: float | None = None


async def _version(kind: str, api: ApiClient) -> str:
    if isinstance(api, PrometheusClient):
        return (await api.buildinfo()).version
    if isinstance(api, AlertmanagerClient):
        return (await api.status()).version_info.version
    data = await api.get_json(VERSION_PATHS[kind])
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise MalformedResponse(f"{VERSION_PATHS[kind]} did not report a version", source=kind)
    return data["version"]


def make_api(kind: str, http: httpx.AsyncClient, **kwargs: object) -> ApiClient:
    """The typed client for ``kind`` (generic for backends without one yet)."""
    cls = {"prometheus": PrometheusClient, "alertmanager": AlertmanagerClient}.get(kind, ApiClient)
    api = cls(http, **kwargs)  # type: ignore[arg-type]
    if cls is ApiClient:
        api.name = kind
    return api


async def probe_endpoint(
    kind: str,
    endpoint: Endpoint,
    *,
    env: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    allow_insecure: bool = False,
) -> ProbeResult:
    """Resolve credentials, ask the server for its version once (no retries), time it."""
    common = {
        "kind": kind,
        "url": redact_url(endpoint.url),
        "auth": endpoint.describe_auth(),
        "proxy": endpoint.describe_proxy(env),
    }
    try:
        http = build_http_client(
            endpoint, kind=kind, env=env, transport=transport, allow_insecure=allow_insecure
        )
    except BackendError as exc:
        return ProbeResult(ok=False, badge=exc.badge, message=exc.message, **common)
    api = make_api(kind, http, retry=NO_RETRY)
    started = time.perf_counter()
    try:
        version = await _version(kind, api)
    except BackendError as exc:
        status = f"HTTP {exc.status}: " if exc.status else ""
        return ProbeResult(ok=False, badge=exc.badge, message=f"{status}{exc.message}", **common)
    except Exception as exc:  # noqa: BLE001 - a probe must report, never crash
        return ProbeResult(ok=False, badge="ERROR", message=clean_message(exc), **common)
    finally:
        await api.aclose()
    latency = (time.perf_counter() - started) * 1000
    return ProbeResult(
        ok=True,
        version=clean_message(version, max_chars=64),
        latency_ms=latency,
        clock_skew=api.clock_skew,
        **common,
    )
