"""The fleet's log lines, derived from the story and the sampled traces (same trace ids).

Formats follow ``shared/fixtures/loki``: llm-server writes Python-style JSON lines (CUDA OOM
errors with ``trace_id``/``span_id`` and a traceback in ``exc_info``), feature-store logfmt
(``level=warning`` ``msg="cache miss"`` on the slow path), model-router zap-style JSON, embedder
Triton glog lines and reranker TGI JSON. llm-server lines carry ``trace_id``/``span_id`` as
structured metadata too, as in the fixtures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from oncall_tui.demo.common import ns, rfc3339_us
from oncall_tui.demo.fleet import (
    LLM_MODEL,
    LLM_POD_A,
    LLM_POD_B,
    NAMESPACE,
    SERVICE_BY_NAME,
)
from oncall_tui.demo.traces import (
    FEATURE_SET,
    OOM_MESSAGE,
    OOM_TRACEBACK,
    SLOT_SECONDS,
    Trace,
)

if TYPE_CHECKING:
    from oncall_tui.demo.incident import DemoIncident

WINDOW = 10.0
"""Story seconds per generation window (two trace slots)."""


@dataclass(frozen=True)
class LogLine:
    """One line: its stream labels, structured metadata and text."""

    ts: float
    service: str
    pod: str
    level: str
    line: str
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def ns(self) -> int:
        """Unix nanoseconds."""
        return ns(self.ts)

    def labels(self) -> dict[str, str]:
        """Indexed stream labels (plus ``service_name``, which Loki adds)."""
        return {
            "level": self.level,
            "namespace": NAMESPACE,
            "pod": self.pod,
            "service": self.service,
            "service_name": self.service,
        }


def _py(ts: float, level: str, logger: str, message: str, **extra: Any) -> str:
    return json.dumps({"timestamp": rfc3339_us(ts), "level": level, "logger": logger, "message": message, **extra})


def _zap(ts: float, level: str, caller: str, msg: str, **extra: Any) -> str:
    body = {"level": level, "ts": rfc3339_us(ts), "caller": caller, "msg": msg, **extra}
    return json.dumps(body, separators=(",", ":"))


def _router_pod(key: int) -> str:
    pods = SERVICE_BY_NAME["model-router"].pods
    return pods[key % len(pods)]


def trace_lines(trace: Trace) -> list[LogLine]:
    """The lines one request leaves behind in the three services it touches."""
    root, tid = trace.root, trace.trace_id
    meta = {"trace_id": tid, "span_id": root.span_id}
    router = _router_pod(trace.slot)
    out = [
        LogLine(root.start - 0.002, "model-router", router, "info", _zap(
            root.start - 0.002, "info", "router/route.go:142", "routing request",
            trace_id=tid, model=LLM_MODEL, upstream="llm-server", replica=trace.llm_pod)),
        LogLine(root.start + 0.0005, "llm-server", trace.llm_pod, "info", _py(
            root.start + 0.0005, "INFO", "llm_server.api", "request accepted",
            trace_id=tid, span_id=root.span_id, model=LLM_MODEL, route="POST /v1/chat/completions",
            model_version=trace.version), meta),
    ]
    fs = trace.span("GET /features")
    if fs is not None:
        ms = round(fs.duration * 1000, 1)
        if trace.cache_miss:
            text = (f'ts={rfc3339_us(fs.end)} level=warning logger=feature_store.cache msg="cache miss" '
                    f"feature_set={FEATURE_SET} backend=postgres duration_ms={ms} trace_id={tid} span_id={fs.span_id}")
            out.append(LogLine(fs.end, "feature-store", trace.fs_pod, "warn", text))
        else:
            text = (f'ts={rfc3339_us(fs.end)} level=info logger=feature_store.api msg="features served" '
                    f"feature_set={FEATURE_SET} cache=hit duration_ms={ms} trace_id={tid} span_id={fs.span_id}")
            out.append(LogLine(fs.end, "feature-store", trace.fs_pod, "info", text))
    prefill = trace.span("prefill")
    if trace.oom and prefill is not None:
        err_meta = {"trace_id": tid, "span_id": prefill.span_id}
        out.append(LogLine(prefill.end - 0.001, "llm-server", trace.llm_pod, "error", _py(
            prefill.end - 0.001, "ERROR", "llm_server.engine", OOM_MESSAGE,
            trace_id=tid, span_id=prefill.span_id, gpu=0, exc_info=OOM_TRACEBACK), err_meta))
        out.append(LogLine(prefill.end + 0.0005, "llm-server", trace.llm_pod, "warn", _py(
            prefill.end + 0.0005, "WARNING", "llm_server.engine", "freeing KV cache blocks after OOM; request aborted",
            trace_id=tid, span_id=prefill.span_id, blocks_freed=488), err_meta))
        out.append(LogLine(root.end + 0.001, "model-router", router, "warn", _zap(
            root.end + 0.001, "warn", "router/retry.go:58", "retrying on another replica", attempt=1,
            failed_replica=trace.llm_pod, next_replica=LLM_POD_B, reason="upstream 500: CUDA out of memory",
            trace_id=tid)))
    else:
        out.append(LogLine(root.end, "llm-server", trace.llm_pod, "info", _py(
            root.end, "INFO", "llm_server.api", "request finished", trace_id=tid, span_id=root.span_id,
            status=200, duration_ms=round(root.duration * 1000, 1)), meta))
    return out


def _glog_time(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%m%d %H:%M:%S.") + f"{dt.microsecond:06d}"


def background_lines(incident: DemoIncident, w: int) -> list[LogLine]:
    """Periodic lines of story window ``w`` (engine stats, pool status, deploy/rollback events)."""
    t = w * WINDOW
    out: list[LogLine] = []
    ts = incident.wall_time(t + 3.7)
    pod = LLM_POD_A if w % 2 == 0 else LLM_POD_B
    kv = incident.pod_value("vllm:gpu_cache_usage_perc", pod, ts) or 0.0
    waiting = int(incident.pod_value("vllm:num_requests_waiting", pod, ts) or 0)
    tput = 800 + 40 * ((w * 7) % 11)
    out.append(LogLine(ts, "llm-server", pod, "info", _py(
        ts, "INFO", "vllm.engine.metrics",
        f"Avg prompt throughput: {tput:.1f} tokens/s, Avg generation throughput: {tput * 2.1:.1f} tokens/s, "
        f"Running: {12 + w % 5} reqs, Swapped: 0 reqs, Pending: {waiting} reqs, "
        f"GPU KV cache usage: {kv * 100:.1f}%, CPU KV cache usage: 0.0%.")))
    ts = incident.wall_time(t + 6.1)
    inflight = int(incident.value("saturation", "model-router", ts) or 0)
    out.append(LogLine(ts, "model-router", _router_pod(w), "info", _zap(
        ts, "info", "router/pool.go:77", "upstream pool status", upstream="llm-server", healthy_replicas=2,
        in_flight=inflight)))
    if w % 3 == 0:
        ts = incident.wall_time(t + 1.3)
        pod = SERVICE_BY_NAME["embedder"].pods[0]
        line = (f'I{_glog_time(ts)} 1 http_server.cc:4497] "inference stats: model=bge-large-en-v1.5 '
                f'success={2550 + w % 40} failure=0 queue_ms_p99=1.8"')
        out.append(LogLine(ts, "embedder", pod, "info", line))
    if w % 3 == 1:
        ts = incident.wall_time(t + 8.2)
        pod = SERVICE_BY_NAME["reranker"].pods[0]
        body = {"timestamp": rfc3339_us(ts), "level": "INFO", "fields": {
            "message": "Success", "total_time": "81.2ms", "validation_time": "0.2ms",
            "queue_time": "0.05ms", "inference_time": "80.9ms"}, "target": "text_generation_router::server"}
        out.append(LogLine(ts, "reranker", pod, "info", json.dumps(body, separators=(",", ":"))))
    out += _events(incident, t)
    return out


def _events(incident: DemoIncident, t: float) -> list[LogLine]:
    """Deploy and rollback lines whose story time falls in ``[t, t + WINDOW)``."""
    from oncall_tui.demo.incident import DEPLOY_AT, NEW_VERSION, OLD_VERSION

    changes = [(DEPLOY_AT, NEW_VERSION, "0.97")]
    back = incident.rollback_at("llm-server")
    if back is not None:
        changes.append((back, OLD_VERSION, "0.90"))
    out = []
    for at, version, util in changes:
        for i, pod in enumerate((LLM_POD_A, LLM_POD_B)):
            story = at + 2.0 + 1.5 * i
            if t <= story < t + WINDOW:
                ts = incident.wall_time(story)
                out.append(LogLine(ts, "llm-server", pod, "info", _py(
                    ts, "INFO", "llm_server.deploy",
                    f"loaded model {LLM_MODEL} (model_version {version}, gpu_memory_utilization {util})",
                    model_version=version)))
    return out


def iter_lines(incident: DemoIncident, start: float, end: float, *, newest_first: bool = True) -> Iterator[LogLine]:
    """Lines with ``start <= ts < end`` (and not in the future), in time order."""
    from oncall_tui.demo.incident import HISTORY_START

    end = min(end, incident.now() + 1e-6)
    if end <= start:
        return
    lo = math.floor(max(incident.story_time(start), HISTORY_START) / WINDOW)
    hi = math.floor(incident.story_time(end) / WINDOW)
    per = int(WINDOW / SLOT_SECONDS)
    spill = 1 + math.ceil(8.0 * incident.speed / SLOT_SECONDS)  # a request lasts up to ~8 wall seconds
    windows = range(hi, lo - 1, -1) if newest_first else range(lo, hi + 1)
    for w in windows:
        w_lo, w_hi = incident.wall_time(w * WINDOW), incident.wall_time((w + 1) * WINDOW)
        lines = background_lines(incident, w)
        for slot in range(per * w - spill, per * (w + 1)):
            trace = incident.trace_at_slot(slot)
            if trace is not None:
                lines += incident.cached(("lines", slot), lambda t=trace: trace_lines(t))
        picked = [x for x in lines if w_lo <= x.ts < w_hi and start <= x.ts < end]
        picked.sort(key=lambda x: (x.ts, x.service, x.line), reverse=newest_first)
        yield from picked
