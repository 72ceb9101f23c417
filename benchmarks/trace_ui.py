"""The trace waterfall in the real app: parse + layout, first paint, and scrolling a page.

For the recorded 2000-span Tempo trace (``shared/fixtures/tempo``) and a generated trace
(default 10,000 spans, ``make_trace_json`` from ``trace_layout.py``):

- ``parse + layout``: :func:`parse_trace` from the body's bytes (msgspec decode into wire
  structs, shown on its own too, then the spans) + :class:`Waterfall` (tree, critical path) +
  the bars of one screen of rows (what the screen paints first); median of ``-n`` runs after a
  warm-up. ``json.loads`` of the same body is shown for comparison (the old first step).
- ``first paint``: ``OncallApp`` on the demo (frozen clock), Tempo answering the trace from an
  ``httpx`` transport; from ``app.open_trace(id)`` (the screen push) to the end of the first
  compositor frame that painted a span row. It includes the real client (fetch, the body
  decoded in a worker thread), the tree built in a thread, and producing the terminal output: the app
  runs with the byte-counting driver of ``_common.py`` (``headless=False``), so each frame is
  rendered to ANSI as for a real terminal.
- ``page scroll``: ``pagedown`` ~30 times from the top; each sample is the time from the key's
  action to the end of the frame that shows the new page (the wait for Textual's next refresh
  included), and separately the CPU time of that frame (``Screen._compositor_refresh``).

Goals: parse + layout <= 200 ms, first paint <= 500 ms (<= 2 s for a 50,000-span trace, with
the critical path shown: the first frame's bars must carry ``━``), page scroll <= 30 ms.
``--spans 10000 50000`` times several sizes. Prints figures, never asserts. Run from the repository root: ``.venv/bin/python benchmarks/trace_ui.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

import httpx
from _common import counting_driver_class, parse_size

SHARED = Path(os.environ.get("ONCALL_TUI_SHARED", REPO.parent / "shared"))
FIXTURE = SHARED / "fixtures/tempo/trace_v2_1725f3a1e7d5d2559253987c1463dfc5_huge_generation_2000_spans.json"
T0 = 1_795_300_000.0
GOALS = {"parse": 200.0, "paint": 500.0, "paint_50k": 2000.0, "scroll": 30.0}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def _verdict(value: float, goal: float) -> str:
    return f"goal <= {goal:.0f} ms: {'met' if value <= goal else 'MISSED'}"


# ------------------------------------------------------------------- parse + layout --
def _timed(fn: Any, runs: int) -> tuple[float, float, Any]:
    """Median and min ms of ``runs`` calls after a warm-up; the last result."""
    result = fn()
    samples = []
    for _ in range(runs):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), min(samples), result


def parse_and_layout(text: str, runs: int, width: int, rows: int) -> dict[str, Any]:
    """json.loads (for comparison), decode, parse_trace(bytes), Waterfall + one screen of rows:
    median/min ms of each."""
    from oncall_tui.core.waterfall.view import Waterfall
    from oncall_tui.models.tempo.decode import decode_body, parse_trace
    from oncall_tui.widgets.waterfall import PALETTE_SIZE, WaterfallView

    track = WaterfallView().geometry(width)[2]
    raw = text.encode()
    json_med, json_min, _ = _timed(lambda: json.loads(text), runs)
    decode_med, decode_min, _ = _timed(lambda: decode_body(raw), runs)
    parse_med, parse_min, trace = _timed(lambda: parse_trace(raw), runs)

    def build() -> Waterfall:
        wf = Waterfall(trace, palette_size=PALETTE_SIZE)
        wf.window(0, rows, track)
        return wf

    tree_med, tree_min, wf = _timed(build, runs)
    return {
        "spans": len(wf),
        "json": (json_med, json_min),
        "decode": (decode_med, decode_min),
        "parse": (parse_med, parse_min),
        "critical": len(wf.critical_path),
        "tree": (tree_med, tree_min),
    }


# ------------------------------------------------------------------------- the app --
class TempoTrace(httpx.AsyncBaseTransport):
    """The demo for everything, except Tempo's answer for one trace id."""

    def __init__(self, inner: httpx.AsyncBaseTransport, trace_id: str, body: bytes) -> None:
        self.inner, self.trace_id, self.body = inner, trace_id, body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "demo-tempo" and request.url.path.endswith("/" + self.trace_id):
            return httpx.Response(200, content=self.body, headers={"content-type": "application/json"}, request=request)
        return await self.inner.handle_async_request(request)


async def paint_and_scroll(body: bytes, trace_id: str, size: tuple[int, int], pages: int) -> dict[str, Any]:
    from textual.screen import Screen

    from oncall_tui.app import OncallApp
    from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings
    from oncall_tui.screens.waterfall import WaterfallScreen
    from oncall_tui.widgets.waterfall import WaterfallView

    clock = lambda: T0
    demo = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    app = OncallApp(demo_settings(), transport=TempoTrace(demo, trace_id, body), clock=clock, periodic_refresh=False)
    driver = counting_driver_class()
    app.driver_class = driver

    state: dict[str, Any] = {"armed": False, "row_painted": False, "frame_end": None, "frame_cpu": 0.0}
    frame_done = asyncio.Event()
    original_line = WaterfallView.render_line
    original_refresh = Screen._compositor_refresh

    def render_line(view: WaterfallView, y: int) -> Any:
        if state["armed"] and y >= 1 and view.waterfall is not None:
            state["row_painted"] = True
        return original_line(view, y)

    def compositor_refresh(screen: Any) -> None:
        t0 = time.perf_counter()
        original_refresh(screen)
        t1 = time.perf_counter()
        if state["armed"] and state["row_painted"]:
            state["armed"] = False
            state["frame_end"] = t1
            state["frame_cpu"] = t1 - t0
            frame_done.set()

    from oncall_tui.clients.drill import DrillDown
    from oncall_tui.screens import waterfall as waterfall_screen

    marks: dict[str, float] = {}
    original_trace = DrillDown.trace
    original_show = waterfall_screen.WaterfallScreen.show_waterfall

    async def timed_trace(drill: Any, trace_id: str) -> Any:
        result = await original_trace(drill, trace_id)
        marks.setdefault("fetched", time.perf_counter())
        return result

    def timed_show(screen: Any, waterfall: Any) -> None:
        marks.setdefault("built", time.perf_counter())
        original_show(screen, waterfall)

    DrillDown.trace = timed_trace  # type: ignore[method-assign]
    waterfall_screen.WaterfallScreen.show_waterfall = timed_show  # type: ignore[method-assign]
    WaterfallView.render_line = render_line  # type: ignore[method-assign]
    Screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign]
    out: dict[str, Any] = {}
    try:
        async with app.run_test(size=size, headless=False) as pilot:
            await app.first_load.wait()
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)

            def arm() -> None:
                state.update(armed=True, row_painted=False, frame_end=None)
                frame_done.clear()

            bytes_before = driver.bytes_written
            arm()
            t0 = time.perf_counter()
            app.open_trace(trace_id)
            await asyncio.wait_for(frame_done.wait(), 60)
            out["first_paint_ms"] = (state["frame_end"] - t0) * 1000
            out["fetch_ms"] = (marks["fetched"] - t0) * 1000
            out["tree_ms"] = (marks["built"] - marks["fetched"]) * 1000
            out["paint_ms"] = (state["frame_end"] - marks["built"]) * 1000
            out["first_frame_cpu_ms"] = state["frame_cpu"] * 1000
            screen = app.screen
            assert isinstance(screen, WaterfallScreen) and screen.waterfall is not None
            out["spans"] = len(screen.waterfall)
            view = screen.query_one(WaterfallView)
            first_screen = "".join(
                seg.text for y in range(view.size.height) for seg in view.render_line(y)
            )
            out["critical_sections"] = len(screen.waterfall.critical_path)
            out["critical_cells_shown"] = first_screen.count("━")
            await pilot.pause(0.3)
            out["first_paint_bytes"] = driver.bytes_written - bytes_before
            latency, cpu, page_bytes = [], [], []
            for _ in range(pages):
                before = driver.bytes_written
                arm()
                t0 = time.perf_counter()
                view.action_page_down()
                await asyncio.wait_for(frame_done.wait(), 10)
                latency.append((state["frame_end"] - t0) * 1000)
                cpu.append(state["frame_cpu"] * 1000)
                await pilot.pause(0.02)
                page_bytes.append(driver.bytes_written - before)
            out["scroll_latency"] = latency
            out["scroll_cpu"] = cpu
            out["scroll_bytes"] = page_bytes
            out["top_row"] = round(view.scroll_y)
    finally:
        DrillDown.trace = original_trace  # type: ignore[method-assign]
        waterfall_screen.WaterfallScreen.show_waterfall = original_show  # type: ignore[method-assign]
        WaterfallView.render_line = original_line  # type: ignore[method-assign]
        Screen._compositor_refresh = original_refresh  # type: ignore[method-assign]
    return out


def report(label: str, text: str, trace_id: str, args: argparse.Namespace) -> None:
    width, height = args.size
    pl = parse_and_layout(text, args.runs, width, height)
    res = asyncio.run(paint_and_scroll(text.encode(), trace_id, args.size, args.pages))
    lat, cpu = res["scroll_latency"], res["scroll_cpu"]
    p50, p95 = statistics.median(lat), _percentile(lat, 0.95)
    total = pl["parse"][0] + pl["tree"][0]
    print(f"\n{label}: {pl['spans']} spans, {len(text) / 1e6:.1f} MB JSON, terminal {width}x{height}")
    print(f"  {'':<44}{'median':>9}{'min':>9}")
    for name, (med, low) in (
        ("(json.loads, for comparison: not used)", pl["json"]),
        ("  decode only (msgspec, bytes -> structs)", pl["decode"]),
        ("parse_trace(bytes) (decode + spans)", pl["parse"]),
        ("Waterfall (tree, critical path) + 1 screen", pl["tree"]),
    ):
        print(f"  {name:<44}{med:7.1f}ms{low:7.1f}ms")
    print(f"  {'parse + layout':<44}{total:7.1f}ms{pl['parse'][1] + pl['tree'][1]:7.1f}ms  {_verdict(total, GOALS['parse'])}")
    paint_goal = GOALS["paint"] if pl["spans"] <= 10_000 else GOALS["paint_50k"]
    shown = res["critical_cells_shown"] > 0
    print(
        f"  first paint: push -> first frame with rows  {res['first_paint_ms']:7.1f}ms  {_verdict(res['first_paint_ms'], paint_goal)}\n"
        f"    critical path: {res['critical_sections']} sections, {'shown' if shown else 'NOT SHOWN'} "
        f"({res['critical_cells_shown']} ━ cells on the first screen)\n"
        f"    = fetch + decode + parse (client) {res['fetch_ms']:.0f} ms, tree (thread) {res['tree_ms']:.0f} ms, "
        f"paint {res['paint_ms']:.0f} ms (frame CPU {res['first_frame_cpu_ms']:.1f} ms, {res['first_paint_bytes'] / 1024:.0f} KiB written)"
    )
    print(f"  page scroll x{len(lat)}: key action -> frame written  p50 {p50:5.1f}ms  p95 {p95:5.1f}ms  {_verdict(p95, GOALS['scroll'])} (p95)")
    print(
        f"    frame CPU p50 {statistics.median(cpu):.1f} ms, p95 {_percentile(cpu, 0.95):.1f} ms; "
        f"~{statistics.median(res['scroll_bytes']) / 1024:.1f} KiB per page; ended at row {res['top_row']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=5, help="timed parse+layout runs (median shown)")
    parser.add_argument("--pages", type=int, default=30, help="pagedown presses to time")
    parser.add_argument("--spans", type=int, nargs="*", default=[10_000], help="sizes of generated traces")
    parser.add_argument("--size", type=parse_size, default=(160, 45), help="terminal size, e.g. 160x45")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if FIXTURE.exists():
        report("recorded huge_generation (Tempo v2)", FIXTURE.read_text(), "1725f3a1e7d5d2559253987c1463dfc5", args)
    else:
        print(f"(fixture {FIXTURE} not found: skipped)")
    try:
        from trace_layout import make_trace_json
    except ImportError:
        print("(benchmarks/trace_layout.py has no make_trace_json: generated traces skipped)")
        return
    from oncall_tui.models.tempo.decode import parse_trace

    for n in args.spans:
        body = make_trace_json(n)
        text = json.dumps(body)
        del body
        trace_id = parse_trace(text.encode()).trace_id
        report(f"generated {n}", text, trace_id, args)


if __name__ == "__main__":
    main()
