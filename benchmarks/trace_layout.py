"""Parse + waterfall layout time for big traces (the non-UI half of the trace view).

Measures, for the recorded 2000-span Tempo trace (``shared/fixtures/tempo``, v2 shape) and
for generated traces (default 10,000 spans, :func:`make_trace_json`):

- ``json``: ``json.loads`` of the body, for comparison only (the client no longer does it),
- ``parse``: :func:`oncall_tui.models.tempo.decode.parse_trace` of the body's bytes (msgspec
  decode into wire structs, then flat spans; what the client does in a worker thread),
- ``tree+cp+layout``: :class:`oncall_tui.core.waterfall.view.Waterfall` (span tree, self times,
  colours, critical path) plus the bar layout of every row at 160 columns,
- ``window``: :meth:`Waterfall.window` for one screen of 50 rows in the middle (what the
  UI does per paint),
- ``search``: the first span search (builds the search index) and a second one.

Goal: parse + tree/critical path/layout ≤ 200 ms for 10,000 spans. Prints medians of
``-n`` runs (default 7, after one warm-up); never asserts. ``make_trace_json(n)`` is
importable (the UI paint benchmark can reuse it).
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from oncall_tui.core.waterfall.view import Waterfall
from oncall_tui.models.tempo.decode import parse_trace

SHARED = Path(os.environ.get("ONCALL_TUI_SHARED", REPO.parent / "shared"))
FIXTURE = SHARED / "fixtures/tempo/trace_v2_1725f3a1e7d5d2559253987c1463dfc5_huge_generation_2000_spans.json"
GOAL_MS = 200.0
MINIMA: list[float] = []  # min of each _time() call, for the "(min …)" column
WIDTH = 160
SCREEN_ROWS = 50

SERVICES = {
    "api-gateway": ("POST /v1/chat/completions", "GET /healthz", "POST /v1/embeddings"),
    "model-router": ("RouteRequest", "PickReplica", "llm-server.Generate"),
    "feature-store": ("GET /v1/features/{feature_set}", "feature-store.GetFeatures", "compute_embeddings"),
    "redis": ("GET", "SET", "MGET"),
    "postgres": ("SELECT features", "SELECT user_profile", "INSERT audit"),
    "llm-server": ("POST /v1/generate", "prefill", "decode", "decode_step", "tokenize"),
    "tokenizer": ("encode", "decode", "normalize"),
    "auth": ("CheckToken", "LookupTenant"),
}


def _b64(rng: random.Random, nbytes: int) -> str:
    return base64.b64encode(rng.randbytes(nbytes)).decode()


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def make_trace_json(
    n: int = 10_000,
    *,
    seed: int = 20260822,
    max_depth: int = 10,
    error_rate: float = 0.01,
    start_ns: int = 1_795_325_689_674_742_925,
) -> dict[str, Any]:
    """A realistic Tempo v2 trace body (``{"trace": {"resourceSpans": [...]}}``) of ``n`` spans.

    Eight services over two pods each, depth up to ``max_depth``, children laid out mostly one
    after another inside their parent with some overlap, 6–10 attributes per span (strings,
    stringly int64s, doubles, bools), ``first_token``/``cache_miss`` events, ``error_rate`` of
    spans in STATUS_CODE_ERROR with an ``exception`` event, base64 ids, 64-bit numbers as
    strings, unset statuses as ``{}``, and resources in no particular order — as Tempo sends it.
    """
    rng = random.Random(seed)
    trace_id = _b64(rng, 16)
    services = list(SERVICES)
    by_resource: dict[tuple[str, int], list[dict[str, Any]]] = {}

    def new_span(service: str, parent: dict[str, Any] | None, start: int, end: int, depth: int) -> dict[str, Any]:
        name = rng.choice(SERVICES[service])
        span: dict[str, Any] = {
            "traceId": trace_id,
            "spanId": _b64(rng, 8),
            "name": name,
            "kind": "SPAN_KIND_SERVER" if parent is None or rng.random() < 0.4 else
            rng.choice(("SPAN_KIND_INTERNAL", "SPAN_KIND_CLIENT")),
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(end),
            "attributes": [
                _attr("http.request.method", rng.choice(("GET", "POST"))),
                _attr("http.route", f"/v1/{name.split()[-1].strip('/')}"),
                _attr("http.response.status_code", rng.choice((200, 200, 200, 201, 404))),
                _attr("server.address", f"{service}.ml-serving.svc.cluster.local"),
                _attr("net.peer.port", 8080),
                _attr("gen_ai.request.model", "llama-3.1-70b-instruct"),
                *(
                    [_attr("db.statement", "SELECT * FROM features WHERE entity_id = $1"), _attr("db.system", "postgresql")]
                    if service == "postgres"
                    else []
                ),
                *([_attr("kv_cache.usage", round(rng.random(), 3)), _attr("gpu.id", rng.randrange(8))] if service == "llm-server" else []),
                _attr("cache.hit", rng.random() < 0.8),
            ],
            "status": {},
        }
        if parent is not None:
            span["parentSpanId"] = parent["spanId"]
        if rng.random() < error_rate:
            span["status"] = {"code": "STATUS_CODE_ERROR", "message": "CUDA out of memory"}
            span["events"] = [
                {
                    "timeUnixNano": str(end - 1000),
                    "name": "exception",
                    "attributes": [
                        _attr("exception.type", "torch.OutOfMemoryError"),
                        _attr("exception.message", "CUDA out of memory. Tried to allocate 2.50 GiB."),
                        _attr("exception.stacktrace", 'Traceback (most recent call last):\n  File "/app/engine.py", line 412'),
                    ],
                }
            ]
        elif rng.random() < 0.05:
            span["events"] = [{"timeUnixNano": str(start + (end - start) // 3), "name": "first_token", "attributes": [_attr("gen_ai.token.index", 0)]}]
        by_resource.setdefault((service, rng.randrange(2)), []).append(span)
        span["_depth"] = depth
        return span

    root = new_span("api-gateway", None, start_ns, start_ns + 12_000_000_000, 0)
    frontier = [root]
    count = 1
    while count < n and frontier:
        parent = frontier.pop(rng.randrange(len(frontier)))
        p_start, p_end = int(parent["startTimeUnixNano"]), int(parent["endTimeUnixNano"])
        k = min(rng.randint(1, 6), n - count)
        cursor = p_start + (p_end - p_start) // 50
        slot = max((p_end - cursor) // (k + 1), 1)
        parent_service = next(s for (s, _), lst in by_resource.items() if parent in lst)
        for _ in range(k):
            start = cursor + rng.randrange(0, max(slot // 4, 1))
            end = min(start + int(slot * rng.uniform(0.5, 1.2)), p_end + (0 if rng.random() < 0.98 else slot // 3))
            service = parent_service if rng.random() < 0.5 else rng.choice(services)
            child = new_span(service, parent, start, max(end, start + 1000), parent["_depth"] + 1)
            count += 1
            cursor = start + (end - start) * 9 // 10
            if child["_depth"] < max_depth:
                frontier.append(child)
    resources = []
    for (service, pod), spans in by_resource.items():
        for s in spans:
            del s["_depth"]
        resources.append(
            {
                "resource": {
                    "attributes": [
                        _attr("service.name", service),
                        _attr("service.namespace", "ml-serving"),
                        _attr("k8s.pod.name", f"{service}-7d9c-{pod}"),
                        _attr("k8s.namespace.name", "ml-serving"),
                        _attr("host.name", f"node-{pod}"),
                    ]
                },
                "scopeSpans": [{"scope": {"name": "opentelemetry", "version": "1.28.0"}, "spans": spans}],
            }
        )
    rng.shuffle(resources)
    return {"trace": {"resourceSpans": resources}, "metrics": {"inspectedBytes": "0"}}


def _time(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median ms of ``runs`` calls after one warm-up (min kept in ``MINIMA``), and the last result.

    The previous result is dropped before each call (two live copies of a 10,000-span trace
    would double the garbage collector's work); the collector stays on, as in the app.
    """
    result = fn()
    samples = []
    for _ in range(runs):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    MINIMA.append(min(samples))
    return statistics.median(samples), result


def measure(label: str, text: str, runs: int) -> None:
    raw = text.encode()
    json_ms, _ = _time(lambda: json.loads(text), runs)
    parse_ms, trace = _time(lambda: parse_trace(raw), runs)

    def build() -> Waterfall:
        wf = Waterfall(trace)
        wf.layout(WIDTH)
        return wf

    tree_ms, wf = _time(build, runs)
    middle = max(wf.row_count // 2 - SCREEN_ROWS // 2, 0)
    window_ms, rows = _time(lambda: wf.window(middle, SCREEN_ROWS, WIDTH), runs)

    def first_search() -> list[int]:
        wf._haystacks = None
        return wf.find("out of memory")

    search_first_ms, hits = _time(first_search, runs)
    search_again_ms, _ = _time(lambda: wf.find("decode"), runs)

    def collapse_cycle() -> int:
        wf.collapse_all()
        wf.expand_level()
        wf.expand_all()
        return wf.row_count

    collapse_ms, _ = _time(collapse_cycle, runs)
    depth = max(wf.depth)
    json_min, parse_min, tree_min, window_min, s1_min, s2_min, collapse_min = MINIMA[-7:]
    total = parse_ms + tree_ms
    print(f"\n{label}: {len(trace.spans)} spans, {len(text) / 1e6:.1f} MB JSON, depth {depth}, "
          f"{len(trace.services)} services, {trace.error_count} errors, "
          f"{len(wf.critical_path)} critical sections, {len(hits)} search hits")
    print(f"  {'step':<34}{'median':>9}{'min':>9}")
    for name, med, low, note in (
        ("(json.loads, for comparison)", json_ms, json_min, "no longer used"),
        ("parse (bytes -> Trace)", parse_ms, parse_min, "worker thread in the client"),
        ("tree + critical path + layout", tree_ms, tree_min, f"layout of all {wf.row_count} rows"),
        ("parse + layout", total, parse_min + tree_min, f"goal <= {GOAL_MS:.0f} ms: {'met' if total <= GOAL_MS else 'MISSED'}"),
        (f"visible window ({SCREEN_ROWS} rows)", window_ms, window_min, f"{len(rows)} rows"),
        ("first search (builds index)", search_first_ms, s1_min, ""),
        ("next search", search_again_ms, s2_min, ""),
        ("collapse all/expand 1/expand all", collapse_ms, collapse_min, ""),
    ):
        print(f"  {name:<34}{med:7.1f}ms{low:7.1f}ms  {note}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=7, help="timed runs per step (median shown)")
    parser.add_argument("--spans", type=int, nargs="*", default=[10_000], help="sizes of generated traces")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; medians of {args.runs} runs")
    if FIXTURE.exists():
        measure("recorded huge_generation (v2)", FIXTURE.read_text(), args.runs)
    else:
        print(f"(fixture {FIXTURE} not found: skipped)")
    for n in args.spans:
        measure(f"generated {n}", json.dumps(make_trace_json(n)), args.runs)


if __name__ == "__main__":
    main()
