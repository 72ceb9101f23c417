"""The demo story: a pure, deterministic model of one incident over time.

Story time ``t(now) = offset + (now - start) * speed`` counts seconds since the story began;
every method takes a wall-clock timestamp, so range queries can ask about any moment.

Timeline (story seconds): 0-60 healthy; 60 llm-server v2.4 deployed (``model_version`` label
``v2.3`` → ``v2.4``); 75-80 GPU 0 of gpu-h100-node-1 fills to 97 %; from 90 llm-server's 5xx
and p99 ramp up over 60 s (CUDA OOM logs from 95), feature-store's slow cache misses and
model-router's retries follow; 150 XID 79 on gpu-h100-node-2 GPU 1. :meth:`DemoIncident.rollback`
of llm-server at ``T`` restores v2.3 and lets everything recover over ~60 s.
"""

from __future__ import annotations

import math

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from oncall_tui.demo.common import decode_slot_id, noise, smoothstep
from oncall_tui.demo.fleet import (
    GPUS,
    H100_FB_MIB,
    LLM_POD_A,
    LLM_POD_B,
    SERVICE_BY_NAME,
    SERVICES,
    DemoGpu,
    DemoService,
)
from oncall_tui.demo.silences import SilenceStore

if TYPE_CHECKING:
    from oncall_tui.demo.alerts import AlertInstance
    from oncall_tui.demo.logs import LogLine
    from oncall_tui.demo.traces import Trace

SIGNALS: tuple[str, ...] = ("traffic", "errors", "latency_p50", "latency_p95", "latency_p99", "saturation")

DEPLOY_AT = 60.0
GPU_FILL_AT, GPU_FILL_FOR = 75.0, 5.0
INCIDENT_AT, INCIDENT_RAMP = 90.0, 60.0
OOM_LOGS_AT = 95.0
XID_AT = 150.0
RECOVERY = 60.0
GPU_RECOVERY = 30.0
HISTORY_START = -6 * 3600.0
"""No logs or traces before this story time (retention)."""

OLD_VERSION, NEW_VERSION = "v2.3", "v2.4"
AFFECTED = frozenset({"llm-server", "feature-store", "model-router"})

# service -> signal -> (healthy, at the height of the incident, relative noise)
PROFILE: dict[str, dict[str, tuple[float, float, float]]] = {
    "llm-server": {
        "traffic": (42.0, 45.5, 0.03),
        "errors": (0.003, 0.11, 0.05),
        "latency_p50": (0.35, 0.6, 0.03),
        "latency_p95": (0.9, 2.4, 0.03),
        "latency_p99": (1.4, 4.6, 0.03),
    },
    "feature-store": {
        "traffic": (128.0, 134.0, 0.03),
        "errors": (0.001, 0.003, 0.08),
        "latency_p50": (0.012, 0.03, 0.04),
        "latency_p95": (0.045, 0.55, 0.04),
        "latency_p99": (0.12, 1.8, 0.03),
        "saturation": (6.0, 36.0, 0.08),
    },
    "model-router": {
        "traffic": (44.0, 47.0, 0.03),
        "errors": (0.002, 0.02, 0.06),
        "latency_p50": (0.42, 0.72, 0.03),
        "latency_p95": (1.0, 2.6, 0.03),
        "latency_p99": (1.6, 5.0, 0.03),
        "saturation": (18.0, 58.0, 0.06),
    },
    "embedder": {
        "traffic": (85.0, 85.0, 0.03),
        "errors": (0.0005, 0.0005, 0.1),
        "latency_p50": (0.018, 0.018, 0.04),
        "latency_p95": (0.035, 0.035, 0.04),
        "latency_p99": (0.06, 0.06, 0.04),
        "saturation": (1.0, 1.0, 0.3),
    },
    "reranker": {
        "traffic": (31.0, 31.0, 0.03),
        "errors": (0.001, 0.001, 0.1),
        "latency_p50": (0.08, 0.08, 0.03),
        "latency_p95": (0.16, 0.16, 0.03),
        "latency_p99": (0.26, 0.26, 0.03),
        "saturation": (0.5, 0.5, 0.4),
    },
}
# vLLM per-pod gauges: pod -> metric -> (healthy, incident, relative noise)
POD_PROFILE: dict[str, dict[str, tuple[float, float, float]]] = {
    LLM_POD_A: {"vllm:gpu_cache_usage_perc": (0.55, 0.97, 0.01), "vllm:num_requests_waiting": (1.0, 19.0, 0.15)},
    LLM_POD_B: {"vllm:gpu_cache_usage_perc": (0.52, 0.90, 0.01), "vllm:num_requests_waiting": (0.5, 8.0, 0.15)},
}
# gpu key -> metric -> (healthy, incident); noise is absolute
GPU_PROFILE: dict[str, dict[str, tuple[float, float]]] = {
    "gpu-h100-node-1/0": {"fb": (0.90, 0.97), "util": (72, 96), "temp": (61, 73), "power": (410, 650)},
    "gpu-h100-node-1/1": {"fb": (0.90, 0.91), "util": (68, 88), "temp": (60, 69), "power": (395, 600)},
    "gpu-h100-node-2/0": {"fb": (0.46, 0.46), "util": (44, 44), "temp": (54, 54), "power": (260, 260)},
    "gpu-h100-node-2/1": {"fb": (0.23, 0.23), "util": (35, 35), "temp": (51, 51), "power": (215, 215)},
}
GPU_METRICS: tuple[str, ...] = (
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_XID_ERRORS",
)
XID_GPU = "gpu-h100-node-2/1"
#: Story seconds between "scrapes": metric values hold between them, as a real exporter's do.
SCRAPE_INTERVAL = 15.0
CACHE_SIZE = 16384
T = TypeVar("T")


class DemoIncident:
    """The incident as a function of time; rollbacks and silences are its only mutable state."""

    def __init__(
        self,
        *,
        start: float | None = None,
        offset: float = 240.0,
        speed: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.clock = clock
        self.start = clock() if start is None else float(start)
        self.offset = float(offset)
        self.speed = float(speed)
        self._rollbacks: dict[str, float] = {}
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        self.silences = SilenceStore()
        self.silences.add_initial(self)

    # --------------------------------------------------------------------- time --
    def now(self) -> float:
        """The current wall-clock time (from ``clock``)."""
        return self.clock()

    def story_time(self, ts: float | None = None) -> float:
        """Story seconds at wall time ``ts`` (default: now)."""
        wall = self.now() if ts is None else ts
        return self.offset + (wall - self.start) * self.speed

    def sample_time(self, ts: float | None = None) -> float:
        """Story time of the newest scrape at wall time ``ts``: gauges hold between scrapes, so
        a screen refreshing faster than the scrape interval sees the same values (as with a
        real Prometheus scraping every 15 s)."""
        return math.floor(self.story_time(ts) / SCRAPE_INTERVAL) * SCRAPE_INTERVAL

    def wall_time(self, story: float) -> float:
        """The wall-clock time at which the story reaches ``story`` seconds."""
        return self.start + (story - self.offset) / self.speed

    @property
    def services(self) -> tuple[DemoService, ...]:
        """The five demo services."""
        return SERVICES

    @property
    def gpus(self) -> tuple[DemoGpu, ...]:
        """The four demo GPUs."""
        return GPUS

    # ----------------------------------------------------------------- rollback --
    def rollback(self, service: str, *, at: float | None = None) -> bool:
        """Roll ``service`` back at wall time ``at`` (default now); False if nothing to roll back."""
        t = self.story_time(at)
        if service != "llm-server" or service in self._rollbacks or t < DEPLOY_AT:
            return False
        with self._lock:
            self._rollbacks[service] = t
            self._generation += 1
            self._cache.clear()
        return True

    def rollback_at(self, service: str) -> float | None:
        """Story time of the rollback of ``service``, if any."""
        return self._rollbacks.get(service)

    def version(self, service: str, ts: float) -> str:
        """The deployed version of ``service`` at wall time ``ts``."""
        return self.version_story(service, self.story_time(ts))

    def version_story(self, service: str, t: float) -> str:
        """The deployed version at story time ``t``."""
        if service != "llm-server":
            return SERVICE_BY_NAME[service].version
        back = self._rollbacks.get(service)
        return NEW_VERSION if DEPLOY_AT <= t and (back is None or t < back) else OLD_VERSION

    # ------------------------------------------------------------------ factors --
    def factor(self, t: float) -> float:
        """How bad the llm-server incident is at story time ``t`` (0 healthy … 1 worst)."""
        return self._decayed(t, INCIDENT_AT, INCIDENT_RAMP, RECOVERY)

    def gpu_factor(self, t: float) -> float:
        """How full GPU 0 of gpu-h100-node-1 is at story ``t`` (0 = 90 %, 1 = 97 %)."""
        return self._decayed(t, GPU_FILL_AT, GPU_FILL_FOR, GPU_RECOVERY)

    def _decayed(self, t: float, rise_at: float, rise_for: float, decay_for: float) -> float:
        back = self._rollbacks.get("llm-server")
        if back is None or t < back:
            return smoothstep((t - rise_at) / rise_for)
        return smoothstep((back - rise_at) / rise_for) * (1.0 - smoothstep((t - back) / decay_for))

    def episode(self, kind: str, level: float) -> tuple[float, float | None] | None:
        """Story times ``(start, end)`` while factor ``kind`` (``llm``/``gpu``) exceeds ``level``."""
        fn, rise_at, rise_for, decay_for = (
            (self.factor, INCIDENT_AT, INCIDENT_RAMP, RECOVERY)
            if kind == "llm"
            else (self.gpu_factor, GPU_FILL_AT, GPU_FILL_FOR, GPU_RECOVERY)
        )
        back = self._rollbacks.get("llm-server")
        peak_t = rise_at + rise_for if back is None else min(max(back, rise_at), rise_at + rise_for)
        if fn(peak_t) <= level:
            return None
        start = _bisect(lambda t: fn(t) > level, rise_at, peak_t)
        end = None if back is None else _bisect(lambda t: fn(t) <= level, back, back + decay_for)
        return start, end

    # ------------------------------------------------------------------- values --
    def value(self, signal: str, service: str, ts: float) -> float | None:
        """A golden signal of ``service`` at wall time ``ts``; None for unknown names."""
        t = self.sample_time(ts)
        if service == "llm-server" and signal == "saturation":
            return max(self.pod_value("vllm:gpu_cache_usage_perc", pod, ts) or 0.0 for pod in POD_PROFILE)
        spec = PROFILE.get(service, {}).get(signal)
        if spec is None:
            return None
        value = self._level(spec, service, t) * (1.0 + spec[2] * noise(f"{service}/{signal}", t))
        if signal == "errors":
            return min(max(value, 0.0), 1.0)
        if signal == "saturation":  # queue lengths and in-flight requests are counts
            return float(max(round(value), 0))
        return value

    def clean_value(self, signal: str, service: str, t: float) -> float | None:
        """The noiseless value at story time ``t`` (what alert thresholds are tested on)."""
        spec = PROFILE.get(service, {}).get(signal)
        return None if spec is None else self._level(spec, service, t)

    def _level(self, spec: tuple[float, float, float], service: str, t: float) -> float:
        healthy, worst = spec[0], spec[1]
        f = self.factor(t) if service in AFFECTED else 0.0
        return healthy + (worst - healthy) * f

    def level_for(self, signal: str, service: str, threshold: float) -> float:
        """The incident factor at which the noiseless signal crosses ``threshold``."""
        healthy, worst, _ = PROFILE[service][signal]
        return (threshold - healthy) / (worst - healthy)

    def llm_value(self, name: str, service: str, ts: float) -> float | None:
        """The LLM-serving extras of :func:`oncall_tui.core.gpu.serving.llm_saturation_queries`."""
        v = self.value
        traffic, p50 = v("traffic", service, ts), v("latency_p50", service, ts)
        if name == "kv_cache" or name == "tgi_queue":
            return v("saturation", service, ts)
        if name == "vllm_waiting":
            return sum(self.pod_value("vllm:num_requests_waiting", pod, ts) or 0.0 for pod in POD_PROFILE)
        if traffic is None or p50 is None:
            return None
        return {
            "vllm_running": round(traffic * p50),  # Little's law: in flight = rate x time
            "vllm_ttft_p95": (v("latency_p95", service, ts) or 0.0) * 0.25,
            "vllm_tokens_per_s": traffic * 180.0,
            "triton_queue_s": p50 * 0.2,
            "triton_compute_s": p50 * 0.7,
        }.get(name)

    def pod_value(self, metric: str, pod: str, ts: float) -> float | None:
        """A vLLM per-pod gauge (``vllm:gpu_cache_usage_perc``, ``vllm:num_requests_waiting``)."""
        spec = POD_PROFILE.get(pod, {}).get(metric)
        if spec is None:
            return None
        t = self.sample_time(ts)
        level = spec[0] + (spec[1] - spec[0]) * self.factor(t)
        value = level * (1.0 + spec[2] * noise(f"{pod}/{metric}", t))
        if metric.endswith("waiting"):
            return float(max(round(value), 0))
        return min(max(value, 0.0), 0.999)

    def gpu_value(self, metric: str, gpu: DemoGpu | str, ts: float) -> float | None:
        """A DCGM field of one GPU at wall time ``ts``; None for unknown metrics or GPUs."""
        key = gpu if isinstance(gpu, str) else gpu.key
        spec = GPU_PROFILE.get(key)
        if spec is None or metric not in GPU_METRICS:
            return None
        t = self.sample_time(ts)
        f = self.gpu_factor(t) if key == "gpu-h100-node-1/0" else self.factor(t)
        xid = key == XID_GPU and t >= XID_AT

        def level(name: str) -> float:
            lo, hi = spec[name]
            return lo + (hi - lo) * f

        if metric == "DCGM_FI_DEV_XID_ERRORS":
            return 79.0 if xid else 0.0
        if metric in ("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"):
            used = round(min(level("fb") + 0.002 * noise(f"{key}/fb", t), 0.999) * H100_FB_MIB)
            return float(used if metric.endswith("USED") else H100_FB_MIB - used)
        if metric == "DCGM_FI_DEV_GPU_UTIL":
            return 0.0 if xid else float(round(min(max(level("util") + 4 * noise(f"{key}/util", t), 0), 100)))
        if metric == "DCGM_FI_DEV_GPU_TEMP":
            return float(round(level("temp") + noise(f"{key}/temp", t) - (6 if xid else 0)))
        return 68.5 if xid else round(level("power") * (1 + 0.03 * noise(f"{key}/power", t)), 3)

    # ------------------------------------------------------- alerts, logs, traces --
    def alerts(self, ts: float | None = None) -> list[AlertInstance]:
        """Pending and firing alerts at wall time ``ts`` (Prometheus' view)."""
        from oncall_tui.demo.alerts import evaluate_alerts

        return evaluate_alerts(self, self.now() if ts is None else ts)

    def trace(self, trace_id: str) -> Trace | None:
        """The trace with that (hex) id, if it exists and has ended by now."""
        slot = decode_slot_id(trace_id.lower().zfill(32))
        if slot is None:
            return None
        found = self.trace_at_slot(slot)
        return found if found is not None and found.end <= self.now() else None

    def trace_at_slot(self, slot: int) -> Trace | None:
        """The trace of one sampling slot (cached), or None before the retention start."""
        from oncall_tui.demo.traces import SLOT_SECONDS, build_trace

        if slot * SLOT_SECONDS < HISTORY_START:
            return None
        return self.cached(("trace", slot), lambda: build_trace(self, slot))

    def cached(self, key: Hashable, build: Callable[[], T]) -> T:
        """Memoise a derived value; the cache is dropped whenever the story changes (rollback)."""
        with self._lock:
            full = (self._generation, key)
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]  # type: ignore[no-any-return]
        value = build()
        with self._lock:
            self._cache[full] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def traces(self, start: float, end: float, *, newest_first: bool = True) -> Iterator[Trace]:
        """Traces that started in ``[start, end]`` and have ended by now."""
        from oncall_tui.demo.traces import iter_traces

        return iter_traces(self, start, end, newest_first=newest_first)

    def log_lines(self, start: float, end: float, *, newest_first: bool = True) -> Iterator[LogLine]:
        """Every log line of the fleet with ``start <= ts < end`` (and ``ts <= now``)."""
        from oncall_tui.demo.logs import iter_lines

        return iter_lines(self, start, end, newest_first=newest_first)


def _bisect(pred: Callable[[float], bool], lo: float, hi: float) -> float:
    """The first ``t`` in ``[lo, hi]`` where the (monotonic) ``pred`` becomes true."""
    if pred(lo):
        return lo
    for _ in range(50):
        mid = (lo + hi) / 2
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return hi
