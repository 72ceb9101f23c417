"""A synthetic N-service fleet for benchmarks: settings plus an ``httpx.MockTransport``.

Services reuse the demo's presets and SLOs (``oncall_tui.demo.demo_services()``), ten copies
of each by default (``llm-server-00`` .. ``reranker-09`` for 50). The transport answers:

- ``/api/v1/query_range``: each of the six batched golden-signal queries from
  ``build_signal_queries`` with one series per service (``{"service": name}``, as
  ``sum by (service)`` returns), ``points`` points each (default 60), values as Prometheus'
  strings. Values move with time (a slow wave plus noise keyed on the timestamp) and a few
  services are in trouble, so every refresh changes most cells, as during an incident.
- ``/api/v2/alerts`` (~30 alerts: active, silenced, inhibited), ``/api/v2/silences``,
  ``/api/v1/alerts`` (the firing ones plus a few pending): shaped like
  ``shared/fixtures/{alertmanager,prometheus}``.

Bodies for a given ``now`` can be built ahead with :meth:`FleetTransport.prepare`, so a CPU
measurement of the app does not also count the mock generating them.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

import httpx

from oncall_tui.clients.session import RANGE_POINTS
from oncall_tui.core.budget import burn_ratio_query
from oncall_tui.core.signals import build_signal_queries
from oncall_tui.core.timerange import TimeRange
from oncall_tui.demo import ALERTMANAGER_URL, PROMETHEUS_URL, demo_services
from oncall_tui.settings import Service, Settings

CONTEXT = "fleet"
# Baselines per preset: traffic rps, error ratio, p50 seconds, saturation.
_BASE = {
    "vllm": (40.0, 0.002, 0.9, 0.55),
    "generic-http": (300.0, 0.001, 0.02, 12.0),
    "triton": (150.0, 0.0005, 0.008, 3.0),
    "tgi": (25.0, 0.003, 0.6, 4.0),
    "model-server": (80.0, 0.001, 0.05, 6.0),
}


def _noise(*key: object) -> float:
    """A deterministic pseudo-random number in [0, 1)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fleet_services(count: int = 50) -> list[dict[str, Any]]:
    templates = demo_services()
    out = []
    for i in range(count):
        t = templates[i % len(templates)]
        out.append(
            {
                "name": f"{t.name}-{i // len(templates):02d}",
                "preset": t.preset,
                "slo": t.slo.model_dump(exclude_none=True),
            }
        )
    return out


def fleet_settings(count: int = 50, refresh_seconds: float = 5.0) -> Settings:
    endpoint = {"timeout": 10.0, "connect_timeout": 2.0, "no_proxy": True}
    settings = Settings.model_validate(
        {
            "current_context": CONTEXT,
            "refresh_seconds": refresh_seconds,
            "contexts": {
                CONTEXT: {
                    "color": "magenta",
                    "endpoints": {
                        "prometheus": {"url": PROMETHEUS_URL, **endpoint},
                        "alertmanager": {"url": ALERTMANAGER_URL, **endpoint},
                    },
                    "services": fleet_services(count),
                }
            },
        }
    )
    for context in settings.contexts.values():
        for _, ep in context.configured_endpoints():
            ep._env = {}  # ignore ONCALL_TUI_* overrides and proxies, like the demo
    return settings


class FleetTransport(httpx.MockTransport):
    """Prometheus and Alertmanager for the synthetic fleet."""

    def __init__(
        self,
        services: list[Service],
        *,
        points: int = RANGE_POINTS,
        alerts: int = 30,
        moving: bool = True,
        time_range: TimeRange | None = None,
    ) -> None:
        super().__init__(self._handle)
        self.services = services
        self.points = points
        self.moving = moving
        self.time_range = time_range or TimeRange()
        self.signal_of = {
            expr: signal for signal, expr in build_signal_queries(services).items()
        }
        burn = burn_ratio_query(services)
        if burn is not None:  # the BURN column's 1h error ratio: answered like the errors
            self.signal_of.setdefault(burn, "errors")
        self.trouble = {
            s.name: i for i, s in enumerate(services) if i % 17 == 3
        }  # 3 of 50 in trouble
        self._prepared: dict[tuple[str, str, str], bytes] = {}
        self.generated_on_the_fly = 0
        self.requests = 0
        self._alert_bodies = self._alerts(alerts)

    # -------------------------------------------------------------------- values --
    def _value(self, svc: Service, index: int, signal: str, ts: float) -> float:
        traffic, errors, p50, sat = _BASE.get(
            svc.preset or "generic-http", _BASE["generic-http"]
        )
        tkey = int(ts) if self.moving else 0
        wave = 1.0 + 0.25 * math.sin(ts / 600.0 + index) if self.moving else 1.0
        jitter = 0.9 + 0.2 * _noise(svc.name, signal, tkey)
        bad = svc.name in self.trouble
        if signal == "traffic":
            return traffic * wave * jitter * (1 + index % 7)
        if signal == "errors":
            return (0.09 if bad else errors) * jitter
        if signal.startswith("latency"):
            mult = {"latency_p50": 1.0, "latency_p95": 2.2, "latency_p99": 3.5}[signal]
            return (
                p50 * mult * jitter * (4.0 if bad and signal == "latency_p99" else 1.0)
            )
        if svc.preset == "vllm":
            return min(0.99, (0.93 if bad else 0.5) * wave * jitter)
        return round(sat * wave * jitter)

    def range_body(self, signal: str, start: float, end: float, step: float) -> bytes:
        n = self.points
        stamps = [end - (n - 1 - k) * step for k in range(n)]
        result = [
            {
                "metric": {"service": svc.name},
                "values": [
                    [round(ts, 3), repr(self._value(svc, i, signal, ts))]
                    for ts in stamps
                ],
            }
            for i, svc in enumerate(self.services)
        ]
        return json.dumps(
            {"status": "success", "data": {"resultType": "matrix", "result": result}}
        ).encode()

    def prepare(self, now: float) -> None:
        """Build the six range bodies for a refresh at ``now`` (the app's clock)."""
        start, end, step = self.time_range.window(now, points=self.points)
        self._prepared = {
            (expr, f"{start:.3f}", f"{end:.3f}"): self.range_body(
                signal, start, end, step
            )
            for expr, signal in self.signal_of.items()
        }

    # -------------------------------------------------------------------- alerts --
    def _alerts(self, count: int) -> dict[str, bytes]:
        t0 = 1_795_300_000.0
        kinds = [
            ("ModelServingHighErrorRate", "critical", "is failing {pct} of requests"),
            ("ModelServingHighLatencyP99", "warning", "p99 latency is {lat}"),
            ("LLMKVCacheSaturated", "warning", "KV cache is {pct} full"),
            ("TargetDown", "warning", "a target is down"),
            ("GPUFramebufferMemoryHigh", "warning", "GPU framebuffer {pct} used"),
        ]
        silence_ids = [f"{k:08x}-3fab-4a13-b641-94dc8064a2ec" for k in range(4)]
        am, prom, silences = [], [], []
        for k, sid in enumerate(silence_ids):
            svc = self.services[(k * 11) % len(self.services)].name
            silences.append(
                {
                    "id": sid,
                    "status": {"state": "active"},
                    "updatedAt": _rfc3339(t0),
                    "comment": f"Known issue on {svc}; tracked in ML-{1200 + k}.",
                    "createdBy": "oncall-bench",
                    "startsAt": _rfc3339(t0),
                    "endsAt": _rfc3339(t0 + 6 * 3600),
                    "matchers": [
                        {
                            "isEqual": True,
                            "isRegex": False,
                            "name": "service",
                            "value": svc,
                        }
                    ],
                }
            )
        criticals: list[str] = []
        for k in range(count):
            name, severity, summary = kinds[k % len(kinds)]
            svc = self.services[(k * 7) % len(self.services)].name
            fp = hashlib.blake2b(f"{name}{svc}{k}".encode(), digest_size=8).hexdigest()
            labels = {
                "alertname": name,
                "namespace": "ml-serving",
                "service": svc,
                "severity": severity,
                "team": "ml-platform",
            }
            silenced = [silence_ids[k % 4]] if k % 6 == 5 else []
            inhibited = (
                [criticals[-1]]
                if (severity == "warning" and criticals and k % 4 == 1 and not silenced)
                else []
            )
            if severity == "critical":
                criticals.append(fp)
            starts = t0 - 60 * (k + 1)
            am.append(
                {
                    "annotations": {
                        "summary": f"{svc} "
                        + summary.format(
                            pct=f"{5 + k % 40}.{k % 10}%", lat=f"{1 + k % 3}.{k % 10}s"
                        ),
                        "description": f"{name} on {svc} in namespace ml-serving.",
                        "runbook_url": f"https://runbooks.example.com/model-serving/{name.lower()}",
                    },
                    "endsAt": _rfc3339(t0 + 240),
                    "fingerprint": fp,
                    "receivers": [{"name": "oncall-webhook"}],
                    "startsAt": _rfc3339(starts),
                    "status": {
                        "inhibitedBy": inhibited,
                        "silencedBy": silenced,
                        "state": "suppressed" if silenced or inhibited else "active",
                    },
                    "updatedAt": _rfc3339(t0),
                    "generatorURL": "http://127.0.0.1:19090/graph?g0.expr=up&g0.tab=1",
                    "labels": {**labels, "cluster": "ml-prod-sim"},
                }
            )
            prom.append(
                {
                    "labels": labels,
                    "annotations": am[-1]["annotations"],
                    "state": "firing",
                    "activeAt": _rfc3339(starts - 30),
                    "value": "7.165326808808109e-02",
                }
            )
        for k in range(5):  # pending: only Prometheus knows them
            svc = self.services[(k * 13 + 5) % len(self.services)].name
            prom.append(
                {
                    "labels": {
                        "alertname": "LLMTimeToFirstTokenHigh",
                        "namespace": "ml-serving",
                        "service": svc,
                        "severity": "warning",
                    },
                    "annotations": {"summary": f"{svc} time to first token is high"},
                    "state": "pending",
                    "activeAt": _rfc3339(t0 - 20),
                    "value": "2.5e+00",
                }
            )
        return {
            "/api/v2/alerts": json.dumps(am).encode(),
            "/api/v2/silences": json.dumps(silences).encode(),
            "/api/v1/alerts": json.dumps(
                {"status": "success", "data": {"alerts": prom}}
            ).encode(),
        }

    # ------------------------------------------------------------------- routing --
    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        path = request.url.path
        headers = {"content-type": "application/json"}
        # The client sends queries as POST form bodies; GET query strings still work.
        params = httpx.QueryParams(request.content.decode()) if request.method == "POST" else request.url.params
        if path == "/api/v1/query_range":
            expr = params.get("query", "")
            body = self._prepared.get(
                (expr, params.get("start", ""), params.get("end", ""))
            )
            if body is None:
                signal = self.signal_of.get(expr)
                if signal is None:
                    return httpx.Response(
                        400,
                        headers=headers,
                        json={
                            "status": "error",
                            "errorType": "bad_data",
                            "error": "unknown query",
                        },
                    )
                self.generated_on_the_fly += 1
                body = self.range_body(
                    signal,
                    float(params["start"]),
                    float(params["end"]),
                    float(params["step"]),
                )
            return httpx.Response(200, headers=headers, content=body)
        if path == "/api/v1/query":
            # Instant queries: the app asks for p50/p95 this way (one point per service).
            signal = self.signal_of.get(params.get("query", ""))
            if signal is None:
                return httpx.Response(400, headers=headers, json={"status": "error", "errorType": "bad_data", "error": "unknown query"})
            ts = float(params.get("time", "0"))
            result = [
                {"metric": {"service": svc.name}, "value": [round(ts, 3), repr(self._value(svc, i, signal, ts))]}
                for i, svc in enumerate(self.services)
            ]
            body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()
            return httpx.Response(200, headers=headers, content=body)
        if path in self._alert_bodies:
            return httpx.Response(
                200, headers=headers, content=self._alert_bodies[path]
            )
        return httpx.Response(404, text="404 page not found\n")
