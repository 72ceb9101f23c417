"""The logs screen with 100,000 lines: load to first paint, filter keystrokes, memory.

A Loki ``query_range`` body of 100,000 lines (``make_body`` from ``logs_load.py``: llm-server
JSON with CUDA OOM errors, uvicorn access lines with ANSI colours, zap JSON, logfmt) is served
by an ``httpx.MockTransport`` to the real app, which renders every frame through a
byte-counting driver (``_common.counting_driver_class``: nothing is skipped as headless).
Each scenario runs in a fresh interpreter, so its resident memory is its own:

- ``bounded``: the screen as shipped, ``LogBuffer(max_entries=10_000)``: the newest 10,000
  lines are kept and the header says how many older lines were dropped;
- ``all``: ``max_entries=100_000``, every line kept (the filter scans all of them).

Measured, per scenario:

- load to first paint: from pushing ``LogsScreen`` to the first frame that painted log rows
  (request, JSON decode and parse in the client, the buffer, the first render), and how much
  of it was the fetch (``DrillDown.logs``: the data layer) and how much the screen;
- filter keystroke to repaint: ``/`` then the first 30 characters of
  ``"cuda out of memory. tried to allocate"`` typed one key at a time; each key is timed from
  the key press to the end of the first frame that repainted the log view (p50/p95/max);
- resident memory (``VmRSS`` from ``/proc/self/status``) after loading and filtering (the mock
  has let go of the body by then), and the peak (``VmHWM``: the 31 MiB body, its decoded JSON
  and the parsed entries are all alive at once while loading).

Goals: load <= 1 s, keystroke p95 <= 50 ms, RSS <= 250 MB. Prints figures; never fails.
Usage: ``.venv/bin/python benchmarks/logs_ui.py [-n 100000] [--scenario bounded|all]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _common import counting_driver_class

QUERY = "cuda out of memory. tried to allocate"
KEYSTROKES = 30
SIZE = (160, 45)
GOALS = {"load_ms": 1000.0, "key_p95_ms": 50.0, "rss_mb": 250.0}
KEY_NAMES = {" ": "space", ".": "full_stop"}


def _status_mb(field: str) -> float:
    """``VmRSS``/``VmHWM`` of this process in MB (Linux), NaN elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class PaintProbe:
    """Times of compositor frames that (re)painted rows of the log view."""

    def __init__(self) -> None:
        self.rows_rendered = False
        self.painted_at: float | None = None
        self.frames = 0

    def install(self) -> PaintProbe:
        from textual.screen import Screen

        from oncall_tui.widgets.logview import LogView

        probe = self
        render_line = LogView.render_line
        refresh = Screen._compositor_refresh

        def _render_line(view: Any, y: int) -> Any:
            if view.row_count:
                probe.rows_rendered = True
            return render_line(view, y)

        def _compositor_refresh(screen: Any) -> None:
            refresh(screen)
            if probe.rows_rendered:
                probe.rows_rendered = False
                probe.frames += 1
                probe.painted_at = time.perf_counter()

        LogView.render_line = _render_line  # type: ignore[method-assign]
        Screen._compositor_refresh = _compositor_refresh  # type: ignore[method-assign]
        return self

    async def next_paint(self, after: float, timeout: float = 10.0) -> float:
        deadline = time.perf_counter() + timeout
        while self.painted_at is None or self.painted_at < after:
            if time.perf_counter() > deadline:
                return float("nan")
            await asyncio.sleep(0.0005)
        return self.painted_at


def _mock_transport(bodies: list[bytes]) -> Any:
    """Answers the first ``query_range`` with the body, then lets go of it (so the resident
    memory measured afterwards is the app's, not the benchmark's copy)."""
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/loki/api/v1/query_range":
            body = bodies.pop() if bodies else b'{"status":"success","data":{"resultType":"streams","result":[]}}'
            return httpx.Response(200, headers={"content-type": "application/json"}, content=body)
        return httpx.Response(404, text="404 page not found")

    return httpx.MockTransport(answer)


async def _scenario(lines: int, max_entries: int) -> dict[str, Any]:
    from logs_load import END_NS, SPAN_NS, make_body

    from oncall_tui.app import OncallApp
    from oncall_tui.core.target import DrillTarget
    from oncall_tui.screens.logs import LogsScreen
    from oncall_tui.settings import Settings

    bodies = [make_body(lines)]
    body_mb = len(bodies[0]) / 2**20
    settings = Settings.model_validate(
        {"contexts": {"bench": {"endpoints": {"loki": {"url": "http://loki.bench", "no_proxy": True}}}}}
    )
    end = END_NS / 1e9
    app = OncallApp(settings, transport=_mock_transport(bodies), clock=lambda: end, periodic_refresh=False)
    app.driver_class = counting_driver_class()
    probe = PaintProbe().install()
    out: dict[str, Any] = {"lines": lines, "max_entries": max_entries, "body_mb": body_mb}
    async with app.run_test(size=SIZE, headless=False) as pilot:
        await pilot.pause()
        loki = app.incident.session.drill.loki
        assert loki is not None
        loki.max_bytes = 1 << 30  # one 100k-line answer (Loki itself pages by 5,000)
        drill = app.incident.session.drill
        fetch = drill.logs

        async def timed_fetch(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fetch(*args, **kwargs)
            finally:
                out["fetch_ms"] = (time.perf_counter() - started) * 1000

        drill.logs = timed_fetch  # type: ignore[method-assign]
        target = DrillTarget(end - SPAN_NS / 1e9, end, "bench", {"namespace": "ml-serving"})
        rss_before = _status_mb("VmRSS")
        t0 = time.perf_counter()
        screen = LogsScreen(target, max_entries=max_entries)
        screen.page_size = 5000
        app.push_screen(screen)
        first = await probe.next_paint(t0, timeout=60.0)
        out["load_ms"] = (first - t0) * 1000
        await app.workers.wait_for_complete()
        await pilot.pause()
        gc.collect()
        out["held"] = len(screen.buffer)
        out["dropped"] = screen.buffer.dropped_oldest
        out["rss_loaded_mb"] = _status_mb("VmRSS")
        out["rss_before_mb"] = rss_before
        await pilot.press("slash")
        await pilot.pause()
        times = []
        for ch in QUERY[:KEYSTROKES]:
            t0 = time.perf_counter()
            await pilot.press(KEY_NAMES.get(ch, ch))
            painted = await probe.next_paint(t0)
            times.append(painted - t0)
        await pilot.pause()
        out["key_ms"] = [t * 1000 for t in times]
        out["matches"] = len(screen.rows) if screen.rows is not None else len(screen.buffer)
        out["counts_label"] = screen.status_parts.get("counts", "")
        out["rss_mb"] = _status_mb("VmRSS")
        out["hwm_mb"] = _status_mb("VmHWM")
        out["bytes_written"] = app.driver_class.bytes_written  # type: ignore[attr-defined]
    return out


def _report(name: str, r: dict[str, Any]) -> None:
    keys = r["key_ms"]
    print(f"[{name}] {r['lines']:,} lines ({r['body_mb']:.1f} MiB body), LogBuffer(max_entries={r['max_entries']:,}): "
          f"{r['held']:,} held, {r['dropped']:,} older dropped")
    print(f"  load to first paint:        {r['load_ms']:8.1f} ms   (goal <= {GOALS['load_ms']:.0f} ms)")
    print(f"    of which the fetch (request, JSON decode and parse in LokiClient): {r.get('fetch_ms', float('nan')):.1f} ms; "
          f"the screen (buffer, first frame): {r['load_ms'] - r.get('fetch_ms', float('nan')):.1f} ms")
    print(f"  filter keystroke → repaint: p50 {_pct(keys, 0.5):6.1f} ms, p95 {_pct(keys, 0.95):6.1f} ms, "
          f"max {max(keys):6.1f} ms over {len(keys)} keys   (goal p95 <= {GOALS['key_p95_ms']:.0f} ms)")
    print(f"  after the last key: {r['counts_label']}")
    print(f"  resident memory: {r['rss_before_mb']:.0f} MB before loading, {r['rss_loaded_mb']:.0f} MB loaded, "
          f"{r['rss_mb']:.0f} MB after filtering; peak {r['hwm_mb']:.0f} MB   (goal <= {GOALS['rss_mb']:.0f} MB)")
    print(f"  terminal bytes written in all: {r['bytes_written'] / 1024:.0f} KiB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--lines", type=int, default=100_000)
    parser.add_argument("--scenario", choices=("bounded", "all"), help="run one scenario in this process")
    args = parser.parse_args(argv)
    if args.scenario:
        max_entries = 10_000 if args.scenario == "bounded" else max(args.lines, 1)
        result = asyncio.run(_scenario(args.lines, max_entries))
        _report(args.scenario, result)
        return
    print(f"logs screen, {SIZE[0]}x{SIZE[1]}, each scenario in a fresh interpreter")
    for scenario in ("bounded", "all"):
        child = subprocess.run(
            [sys.executable, __file__, "-n", str(args.lines), "--scenario", scenario],
            check=False, capture_output=True, text=True, timeout=600,
        )
        print(child.stdout.rstrip() or child.stderr.rstrip()[-3000:])


if __name__ == "__main__":
    main()
