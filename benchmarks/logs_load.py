"""Loading, filtering and grouping 100,000 log lines (the logs drill-down, before any paint).

Builds a Loki ``query_range`` streams body (``make_body``) shaped like
``shared/fixtures/loki``: llm-server Python-style JSON (request accepted/finished with trace
ids, engine stats, a CUDA OOM error with a traceback now and then), uvicorn access lines with
ANSI colours, model-router zap JSON and feature-store logfmt, in 14 streams
(service x pod x level), newest first per stream as Loki answers ``direction=backward``, in the
``categorize-labels`` form (``--merged`` for the default form). Then measures:

- load: :func:`decode_query_body` (bytes straight to entries, msgspec, the GC paused) +
  :meth:`LogBuffer.extend_newer` (``load(body)``), and the same through the real ``LokiClient`` over an
  ``httpx.MockTransport`` (``load_via_client(body)``);
- filter: one keystroke = one :meth:`LogBuffer.filter` call, over the successive prefixes of
  ``"cuda out of memory. tried to allocate"`` (30 keystrokes, as typed), and the same prefixes
  negated (``!…``: always a full scan, the worst case);
- pattern grouping of all entries (:func:`group_patterns`);
- memory: in a fresh interpreter that only loads the body, the resident set after loading
  (``/proc/self/statm``) and its peak (``VmHWM``; ``ru_maxrss`` is printed too, but on Linux
  it keeps the parent's peak across ``exec``); and what the loaded buffer holds
  (``tracemalloc``).

Goals: load <= 1 s, filter keystroke p95 <= 50 ms, RSS <= 250 MB. Prints figures; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from oncall_tui.core.logs.buffer import LogBuffer
from oncall_tui.core.logs.patterns import group_patterns
from oncall_tui.models.loki import StreamsResult, decode_query_body

QUERY = "cuda out of memory. tried to allocate"
KEYSTROKES = 30
END_NS = 1_795_325_850_674_742_925
SPAN_NS = 3600 * 10**9
GOALS = {"load_ms": 1000.0, "filter_p95_ms": 50.0, "rss_mb": 250.0}

PODS = {
    "llm-server": ("llm-server-0", "llm-server-1"),
    "model-router": ("model-router-5f7c9d6b8-qk4zt",),
    "feature-store": ("feature-store-7b8c9d5f6-m2n8r", "feature-store-7b8c9d5f6-x9p4q"),
}
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/app/llm_server/engine.py", line 412, in step\n'
    "    logits = self.model.forward(batch.input_ids, kv_cache=self.kv_cache)\n"
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.50 GiB."
)


def _iso(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns // 1000 % 10**6:06d}Z"


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _line(rng: random.Random, service: str, level: str, ns: int) -> tuple[str, dict[str, str]]:
    """(line, structured metadata) for one entry."""
    meta = {"detected_level": level}
    if service == "llm-server":
        if level == "error":
            size, gpu = rng.choice((1.5, 2.5, 4.0)), rng.randrange(8)
            oom = f"CUDA out of memory. Tried to allocate {size} GiB. GPU {gpu} has 1.12 GiB free."
            trace, span = _hex(rng, 32), _hex(rng, 16)
            meta |= {"trace_id": trace, "span_id": span}
            body = {
                "timestamp": _iso(ns),
                "level": "ERROR",
                "logger": "llm_server.engine",
                "message": oom,
                "trace_id": trace,
                "span_id": span,
                "exc_info": TRACEBACK,
            }
            return json.dumps(body), meta
        roll = rng.random()
        if roll < 0.2:
            ip = f"10.42.{rng.randrange(256)}.{rng.randrange(256)}:{rng.randrange(30000, 65000)}"
            return f'\x1b[32mINFO\x1b[0m:     {ip} - "POST /v1/generate HTTP/1.1" \x1b[32m200 OK\x1b[0m', meta
        if roll < 0.4:
            body = {
                "timestamp": _iso(ns),
                "level": level.upper(),
                "logger": "llm_server.metrics",
                "message": "engine stats",
                "gpu_util": round(rng.uniform(40, 99), 1),
                "kv_cache_usage": round(rng.random(), 3),
                "running": rng.randrange(32),
                "waiting": rng.randrange(32),
            }
            return json.dumps(body), meta
        trace, span = _hex(rng, 32), _hex(rng, 16)
        meta |= {"trace_id": trace, "span_id": span}
        message = rng.choice(("request accepted", "request finished"))
        body = {
            "timestamp": _iso(ns),
            "level": level.upper(),
            "logger": "llm_server.engine",
            "message": message,
            "trace_id": trace,
            "span_id": span,
            "model": rng.choice(("llama-3.1-8b-instruct", "llama-3.1-70b-instruct")),
            "route": "POST /v1/generate",
        }
        return json.dumps(body), meta
    if service == "model-router":
        msg = "queue depth above threshold" if level == "warn" else rng.choice(("routing request", "replica stats"))
        body = {
            "level": level,
            "ts": _iso(ns),
            "caller": "router/route.go:142",
            "msg": msg,
            "trace_id": _hex(rng, 32),
            "span_id": _hex(rng, 16),
            "model": "llama-3.1-70b-instruct",
        }
        return json.dumps(body, separators=(",", ":")), meta
    inline = "warning" if level == "warn" else level
    msg = "served features" if level != "warn" else "slow feature fetch"
    line = (
        f'ts={_iso(ns)} level={inline} logger=feature_store.api msg="{msg}" feature_set=user_profile '
        f"entities={rng.randrange(1, 64)} cache_hit_ratio={rng.random():.2f} duration_ms={rng.uniform(1, 900):.1f}"
    )
    return line, meta


def make_body(n: int = 100_000, *, seed: int = 20260822, categorized: bool = True) -> bytes:
    """A Loki ``query_range`` response body with ``n`` log lines in several streams."""
    rng = random.Random(seed)
    kinds = [
        ("llm-server", "info", 40),
        ("llm-server", "warn", 3),
        ("llm-server", "error", 1),
        ("llm-server", "debug", 4),
        ("model-router", "info", 20),
        ("model-router", "warn", 2),
        ("feature-store", "info", 25),
        ("feature-store", "warn", 2),
        ("feature-store", "debug", 3),
    ]
    weights = [w for *_, w in kinds]
    per_stream: dict[tuple[str, str, str], list[str]] = {}
    step = SPAN_NS // n
    for i in range(n):
        ns = END_NS - SPAN_NS + i * step + rng.randrange(step)
        service, level, _ = rng.choices(kinds, weights)[0]
        pod = rng.choice(PODS[service])
        line, meta = _line(rng, service, level, ns)
        value = [str(ns), line, {"structuredMetadata": meta}] if categorized else [str(ns), line]
        per_stream.setdefault((service, pod, level), []).append(json.dumps(value, ensure_ascii=False))
    streams = []
    for (service, pod, level), values in per_stream.items():
        labels = {"level": level, "namespace": "ml-serving", "pod": pod, "service": service, "service_name": service}
        values.reverse()  # newest first, as direction=backward answers
        streams.append('{"stream":' + json.dumps(labels) + ',"values":[' + ",".join(values) + "]}")
    flags = ',"encodingFlags":["categorize-labels"]' if categorized else ""
    stats = f'"stats":{{"summary":{{"execTime":0.42,"totalEntriesReturned":{n}}}}}'
    return (
        '{"status":"success","data":{"resultType":"streams"'
        + flags
        + ',"result":['
        + ",".join(streams)
        + "],"
        + stats
        + "}}"
    ).encode()


def load(body: bytes, *, max_entries: int | None = None) -> LogBuffer:
    """Decode, parse and load a query_range body into a LogBuffer (what the logs view does:
    ``LokiClient`` decodes the bytes straight to entries, the GC paused for a big body)."""
    data = decode_query_body(body).data
    assert isinstance(data, StreamsResult)
    buffer = LogBuffer(max_entries=max_entries or max(len(data.entries), 1))
    buffer.extend_newer(data.entries)
    return buffer


def load_via_client(body: bytes, *, max_entries: int | None = None) -> LogBuffer:
    """Like :func:`load`, through the real LokiClient and an httpx.MockTransport."""
    import httpx

    from oncall_tui.clients.http import NO_RETRY
    from oncall_tui.clients.loki import LokiClient

    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body)

    async def run() -> LogBuffer:
        http = httpx.AsyncClient(base_url="http://loki.bench", transport=httpx.MockTransport(answer))
        client = LokiClient(http, retry=NO_RETRY, max_bytes=1 << 30)
        try:
            result = await client.query_range(
                '{namespace="ml-serving"}', start=END_NS - SPAN_NS, end=END_NS, limit=5000
            )
        finally:
            await client.aclose()
        assert isinstance(result.data, StreamsResult)
        buffer = LogBuffer(max_entries=max_entries or max(len(result.data.entries), 1))
        buffer.extend_newer(result.data.entries)
        return buffer

    return asyncio.run(run())


def _timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    gc.collect()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def filter_latencies(
    buffer: LogBuffer, query: str = QUERY, keystrokes: int = KEYSTROKES, *, negate: bool = False
) -> list[float]:
    """Seconds per filter call over the successive prefixes of ``query`` (one per keystroke)."""
    times = []
    for k in range(1, min(keystrokes, len(query)) + 1):
        text = ("!" if negate else "") + query[:k]
        t0 = time.perf_counter()
        buffer.filter(text)
        times.append(time.perf_counter() - t0)
    return times


def rss_mb() -> float:
    """Current resident set size in MiB (Linux ``/proc/self/statm``)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """This process's peak resident set in MiB: ``VmHWM`` (Linux), else ``ru_maxrss``.

    ``ru_maxrss`` survives ``exec`` on Linux, so in a child it can report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="load runs (median reported)")
    parser.add_argument("--merged", action="store_true", help="default (merged) form instead of categorize-labels")
    parser.add_argument("--rss-child", metavar="BODY", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child)
        return

    body, t_make = _timed(make_body, args.lines, categorized=not args.merged)
    print(
        f"body: {args.lines} lines, {len(body) / 2**20:.1f} MiB "
        f"({'merged' if args.merged else 'categorize-labels'}), built in {t_make:.1f} s"
    )

    loads = []
    buffer = None
    for _ in range(args.runs):
        buffer = None
        gc.collect()
        buffer, t = _timed(load, body)
        loads.append(t)
    assert buffer is not None
    _, t_client = _timed(load_via_client, body)
    print(
        f"load (decode + LogBuffer), median of {args.runs}: {statistics.median(loads) * 1000:7.1f} ms "
        f"(min {min(loads) * 1000:.1f}, max {max(loads) * 1000:.1f}); goal <= {GOALS['load_ms']:.0f} ms"
    )
    print(f"load through LokiClient + MockTransport:        {t_client * 1000:7.1f} ms")
    print(f"entries loaded: {len(buffer)}")

    incremental = filter_latencies(buffer)
    full = filter_latencies(buffer, negate=True)
    matches = len(buffer.filter(QUERY))
    print(
        f"filter, {len(incremental)} successive keystrokes of {QUERY!r}: p50 {_pct(incremental, 0.5) * 1000:.2f} ms, "
        f"p95 {_pct(incremental, 0.95) * 1000:.2f} ms, max {max(incremental) * 1000:.2f} ms; "
        f"goal p95 <= {GOALS['filter_p95_ms']:.0f} ms"
    )
    print(
        f"filter, same prefixes negated (full scans):       p50 {_pct(full, 0.5) * 1000:.2f} ms, "
        f"p95 {_pct(full, 0.95) * 1000:.2f} ms, max {max(full) * 1000:.2f} ms"
    )
    print(f"lines matching the whole query: {matches}")

    groups, t_group = _timed(group_patterns, buffer.entries)
    tail = buffer.entries[-10_000:]
    _, t_group_10k = _timed(group_patterns, tail)
    print(
        f"pattern grouping: {len(buffer)} entries {t_group * 1000:.0f} ms ({len(groups)} shapes); "
        f"newest 10,000 {t_group_10k * 1000:.0f} ms"
    )
    for g in groups[:5]:
        print(f"   {g.count:6d}  {g.display(max_chars=110)}")

    del buffer, groups, tail
    gc.collect()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "body.json"
        path.write_bytes(body)
        child = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(path)],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
    print(child.stdout.rstrip() or child.stderr.rstrip())
    tracemalloc.start()
    buffer = load(body)
    held, peak_traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del buffer
    print(
        f"tracemalloc: the loaded buffer holds {held / 2**20:.0f} MiB; "
        f"peak while loading {peak_traced / 2**20:.0f} MiB "
        f"(+ the {len(body) / 2**20:.0f} MiB body)"
    )


def rss_child(path: str) -> None:
    """In a fresh interpreter: load the body once; print resident memory."""
    before = rss_mb()
    body = Path(path).read_bytes()
    buffer = load(body)
    loaded = rss_mb()
    del body
    gc.collect()
    print(
        f"memory (fresh process): RSS {before:.0f} MiB after imports, {loaded:.0f} MiB with the body and "
        f"{len(buffer)} entries loaded, {rss_mb():.0f} MiB after dropping the body; peak RSS (VmHWM) "
        f"{peak_rss_mb():.0f} MiB, ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
        f"goal <= {GOALS['rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
