"""``DemoTransport``: an httpx transport that answers the four backends' APIs from a DemoIncident.

Give it to the real clients, e.g. ``PrometheusClient(httpx.AsyncClient(base_url=PROMETHEUS_URL,
transport=DemoTransport(incident)))``. It routes on the request's host (``demo-prometheus``,
``demo-alertmanager``, ``demo-loki``, ``demo-tempo``); :meth:`DemoTransport.set_down` makes a
host refuse connections, to show outages.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import httpx

from oncall_tui.demo.api_alertmanager import AlertmanagerApi
from oncall_tui.demo.api_cd import CdApi
from oncall_tui.demo.api_grafana import GrafanaApi
from oncall_tui.demo.api_loki import LokiApi
from oncall_tui.demo.api_prometheus import PrometheusApi
from oncall_tui.demo.api_tempo import TempoApi
from oncall_tui.demo.common import (
    ALERTMANAGER_URL,
    CD_URL,
    GRAFANA_URL,
    LOKI_URL,
    PROMETHEUS_URL,
    TEMPO_URL,
    Reply,
    Req,
    text_reply,
)
from oncall_tui.demo.incident import DemoIncident
from oncall_tui.settings import Service

log = logging.getLogger(__name__)


class _Api(Protocol):
    def handle(self, req: Req) -> Reply: ...


def _host(name_or_url: str) -> str:
    return httpx.URL(name_or_url).host if "://" in name_or_url else name_or_url.strip().lower()


class DemoTransport(httpx.AsyncBaseTransport):
    """Serves Prometheus, Alertmanager, Loki and Tempo for one incident (shared state)."""

    def __init__(self, incident: DemoIncident | None = None, *, services: Sequence[Service] | None = None) -> None:
        self.incident = incident if incident is not None else DemoIncident()
        if services is None:
            from oncall_tui.demo.config import demo_services

            services = demo_services()
        self._apis: dict[str, _Api] = {
            _host(PROMETHEUS_URL): PrometheusApi(self.incident, services),
            _host(ALERTMANAGER_URL): AlertmanagerApi(self.incident),
            _host(LOKI_URL): LokiApi(self.incident),
            _host(TEMPO_URL): TempoApi(self.incident),
            _host(CD_URL): CdApi(self.incident),
            _host(GRAFANA_URL): GrafanaApi(self.incident),
        }
        self._down: set[str] = set()
        self._executor: ThreadPoolExecutor | None = None
        self.requests_served = 0

    @property
    def hosts(self) -> tuple[str, ...]:
        """The host names this transport answers."""
        return tuple(self._apis)

    def set_down(self, host: str, down: bool = True) -> None:
        """Make ``host`` (a name or base URL) refuse connections, or serve again."""
        name = _host(host)
        if name not in self._apis:
            raise ValueError(f"unknown demo host {host!r}; known: {', '.join(self._apis)}")
        if down:
            self._down.add(name)
        else:
            self._down.discard(name)

    def is_down(self, host: str) -> bool:
        """Whether ``host`` is currently refusing connections."""
        return _host(host) in self._down

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = (request.url.host or "").lower()
        api = self._apis.get(host)
        if api is None:
            raise httpx.ConnectError(f"[Errno -2] Name or service not known: {host}", request=request)
        if host in self._down:
            raise httpx.ConnectError("[Errno 111] Connection refused (demo backend is down)", request=request)
        body = await request.aread()
        headers = {k.lower(): v for k, v in request.headers.items()}
        req = Req.build(request.method, request.url.path, list(request.url.params.multi_items()), headers, body)
        # Long log scans must not block the app's event loop: answer on one worker thread
        # (one, so requests are still served in order and never concurrently).
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (e.g. trio): answer inline
            reply = self._serve(api, req)
        else:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oncall-demo")
            reply = await loop.run_in_executor(self._executor, self._serve, api, req)
        out_headers = {"date": email.utils.formatdate(self.incident.now(), usegmt=True)}
        if reply.content_type:
            out_headers["content-type"] = reply.content_type
        return httpx.Response(reply.status, headers=out_headers, content=reply.body, request=request)

    def _serve(self, api: _Api, req: Req) -> Reply:
        try:
            reply = api.handle(req)
        except Exception as exc:
            log.exception("demo failed on %s %s", req.method, req.path)
            reply = text_reply(f"demo internal error: {type(exc).__name__}", 500)
        self.requests_served += 1
        return reply

    async def aclose(self) -> None:
        """Stop the worker thread (a later request starts a new one: clients share this transport)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)
