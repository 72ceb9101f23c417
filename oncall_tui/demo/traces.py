"""Sampled request traces of the demo: one per 5 story-second slot, fully determined by the slot.

Each trace is a chat completion on llm-server: root ``POST /v1/chat/completions`` (SERVER) →
``feature-store GET /features`` (CLIENT) → feature-store ``GET /features`` (SERVER, a slow
postgres query on a cache miss) → ``queue_wait`` → ``prefill`` → ``decode``. During the incident
some prefills end in a CUDA OOM (error status plus an ``exception`` event) and the request
fails with 500. Trace ids encode their slot, so any id the demo handed out can be looked up.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oncall_tui.demo.common import encode_slot_id, hex_id, unit
from oncall_tui.demo.fleet import LLM_MODEL, LLM_POD_A, LLM_POD_B, SERVICE_BY_NAME

if TYPE_CHECKING:
    from oncall_tui.demo.incident import DemoIncident

SLOT_SECONDS = 5.0
OOM_MESSAGE = (
    "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.15 GiB of which "
    "1.02 GiB is free. Including non-PyTorch memory, this process has 78.12 GiB memory in use. Of the "
    "allocated memory 75.31 GiB is allocated by PyTorch, and 1.21 GiB is reserved by PyTorch but unallocated."
)
OOM_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/llm_server/engine.py", line 412, in step\n'
    "    logits = self.model.forward(batch.input_ids, kv_cache=self.kv_cache)\n"
    '  File "/app/llm_server/model/attention.py", line 88, in forward\n'
    "    attn = torch.empty((bsz, self.num_heads, q_len, kv_len), dtype=q.dtype, device=q.device)\n"
    f"torch.OutOfMemoryError: {OOM_MESSAGE}"
)
FEATURE_SET = "user_profile_v3"


@dataclass(frozen=True)
class SpanEvent:
    """A span event (``exception``, ``slow_query``, ``first_token``…)."""

    time: float
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    """One span; times are wall-clock seconds."""

    span_id: str
    parent_id: str | None
    service: str
    pod: str
    name: str
    kind: str
    start: float
    end: float
    attributes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    """The status message of a failed span; None when the status is unset."""
    events: tuple[SpanEvent, ...] = ()

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class Trace:
    """A finished trace and the facts logs and exemplars are derived from."""

    trace_id: str
    slot: int
    story_start: float
    version: str
    llm_pod: str
    fs_pod: str
    oom: bool
    cache_miss: bool
    spans: tuple[Span, ...]

    @property
    def root(self) -> Span:
        """The root span (llm-server ``POST /v1/chat/completions``)."""
        return self.spans[0]

    @property
    def start(self) -> float:
        return self.root.start

    @property
    def end(self) -> float:
        return self.root.end

    @property
    def has_error(self) -> bool:
        return any(s.error for s in self.spans)

    def span(self, name: str) -> Span | None:
        """The first span with that name."""
        return next((s for s in self.spans if s.name == name), None)


def build_trace(incident: DemoIncident, slot: int) -> Trace:
    """The trace of ``slot``: what happened depends only on the story at that moment."""
    t0 = slot * SLOT_SECONDS + 4.0 * unit("trace-offset", slot)
    f = incident.factor(t0)
    version = incident.version_story("llm-server", t0)
    oom = t0 >= 95.0 and version == "v2.4" and unit("oom", slot) < 0.6 * f
    miss = unit("miss", slot) < 0.05 + 0.55 * f
    llm_pod = LLM_POD_A if oom or unit("pod", slot) < 0.5 else LLM_POD_B
    fs_pods = SERVICE_BY_NAME["feature-store"].pods
    fs_pod = fs_pods[int(unit("fs-pod", slot) * len(fs_pods))]
    trace_id = encode_slot_id(slot)

    def r(name: str) -> float:
        return unit(f"{name}", slot)

    def sid(name: str) -> str:
        return hex_id(trace_id, name)

    w0 = incident.wall_time(t0)
    fs_dur = 0.008 + 0.012 * r("fs") if not miss else (0.2 + 1.4 * f) * (0.85 + 0.3 * r("fs"))
    fs_start = w0 + 0.002
    fs_end = fs_start + fs_dur
    queue_end = fs_end + 0.001 + 0.005 + f * (0.1 + 0.9 * r("queue"))
    prefill_end = queue_end + (0.3 + 0.15 * r("prefill") if oom else 0.06 + 0.06 * r("prefill"))
    decode_end = prefill_end + 0.15 + 0.2 * r("decode") + 0.3 * f
    root_end = (prefill_end if oom else decode_end) + 0.002
    tokens_in = 400 + int(3000 * r("tokens-in"))
    tokens_out = 0 if oom else 60 + int(240 * r("tokens-out"))
    status = 500 if oom else 200

    root_id, fs_client_id, fs_server_id = sid("root"), sid("fs-client"), sid("fs-server")
    common_llm = {"service": "llm-server", "pod": llm_pod}
    spans = [
        Span(
            root_id, None, name="POST /v1/chat/completions", kind="SPAN_KIND_SERVER", start=w0, end=root_end,
            attributes={
                "http.request.method": "POST",
                "http.route": "/v1/chat/completions",
                "http.response.status_code": status,
                "gen_ai.system": "vllm",
                "gen_ai.request.model": LLM_MODEL,
                "model.version": version,
                "gen_ai.usage.input_tokens": tokens_in,
                "gen_ai.usage.output_tokens": tokens_out,
            },
            error="torch.OutOfMemoryError: CUDA out of memory" if oom else None,
            **common_llm,
        ),
        Span(
            fs_client_id, root_id, name="feature-store GET /features", kind="SPAN_KIND_CLIENT",
            start=fs_start, end=fs_end,
            attributes={"http.request.method": "GET", "peer.service": "feature-store", "server.address": "feature-store.ml-serving.svc"},
            **common_llm,
        ),
        Span(
            fs_server_id, fs_client_id, "feature-store", fs_pod, "GET /features", "SPAN_KIND_SERVER",
            fs_start + 0.0005, fs_end - 0.0005,
            attributes={
                "http.request.method": "GET",
                "http.route": "/features",
                "http.response.status_code": 200,
                "feature.set": FEATURE_SET,
                "cache.hit": not miss,
            },
        ),
        Span(
            sid("redis"), fs_server_id, "feature-store", fs_pod, "GET", "SPAN_KIND_CLIENT",
            fs_start + 0.001, fs_start + 0.0025,
            attributes={"db.system": "redis", "db.operation": "GET"},
        ),
    ]
    if miss:
        q_start, q_end = fs_start + 0.003, fs_end - 0.002
        slow = q_end - q_start > 0.5
        spans.append(
            Span(
                sid("postgres"), fs_server_id, "feature-store", fs_pod, "postgres SELECT", "SPAN_KIND_CLIENT",
                q_start, q_end,
                attributes={"db.system": "postgresql", "db.operation": "SELECT", "db.sql.table": "features"},
                events=(SpanEvent(q_end, "slow_query", {"db.duration_ms": round((q_end - q_start) * 1000, 1)}),) if slow else (),
            )
        )
    spans.append(Span(sid("queue"), root_id, name="queue_wait", kind="SPAN_KIND_INTERNAL", start=fs_end + 0.001, end=queue_end, **common_llm))
    oom_event = SpanEvent(
        prefill_end - 0.001,
        "exception",
        {
            "exception.type": "torch.OutOfMemoryError",
            "exception.message": OOM_MESSAGE,
            "exception.stacktrace": OOM_TRACEBACK,
            "exception.escaped": True,
        },
    )
    spans.append(
        Span(
            sid("prefill"), root_id, name="prefill", kind="SPAN_KIND_INTERNAL", start=queue_end, end=prefill_end,
            attributes={"gen_ai.usage.input_tokens": tokens_in, "gpu.id": 0 if llm_pod == LLM_POD_A else 1},
            error=OOM_MESSAGE if oom else None,
            events=(oom_event,) if oom else (),
            **common_llm,
        )
    )
    if not oom:
        spans.append(
            Span(
                sid("decode"), root_id, name="decode", kind="SPAN_KIND_INTERNAL", start=prefill_end, end=decode_end,
                attributes={"gen_ai.usage.output_tokens": tokens_out},
                events=(
                    SpanEvent(prefill_end + 0.015, "first_token", {"gen_ai.token.index": 0}),
                    SpanEvent(decode_end, "eos", {"gen_ai.response.finish_reason": "stop"}),
                ),
                **common_llm,
            )
        )
    return Trace(trace_id, slot, t0, version, llm_pod, fs_pod, oom, miss, tuple(spans))


def iter_traces(incident: DemoIncident, start: float, end: float, *, newest_first: bool = True) -> Iterator[Trace]:
    """Traces started in ``[start, end]`` that have ended by now, newest first by default."""
    now = incident.now()
    from oncall_tui.demo.incident import HISTORY_START

    lo = math.floor((max(incident.story_time(start), HISTORY_START) - SLOT_SECONDS) / SLOT_SECONDS)
    hi = math.floor(incident.story_time(min(end, now)) / SLOT_SECONDS)
    slots = range(hi, lo - 1, -1) if newest_first else range(lo, hi + 1)
    for slot in slots:
        trace = incident.trace_at_slot(slot)
        if trace is not None and start <= trace.start <= end and trace.end <= now:
            yield trace


__all__ = ["SLOT_SECONDS", "Span", "SpanEvent", "Trace", "build_trace", "iter_traces"]
