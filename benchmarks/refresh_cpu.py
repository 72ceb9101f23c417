"""CPU time per triage refresh cycle with 50 services, render included.

Runs ``OncallApp`` in this process at 160x45 against a synthetic 50-service fleet
(``_mock_fleet.py``: the demo's presets x10; six batched query_range answers of 50 series x
32 points (RANGE_POINTS), ~30 Alertmanager alerts, silences, Prometheus alerts), with a fake clock that
advances by the refresh interval (default 5 s) before each cycle, so values and ages move
like a live incident. Periodic refresh is off; each cycle calls
``app.triage_screen().refresh_data()``, awaits the worker, then sleeps 150 ms so Textual's
update timer paints the result. The driver is headless but reports itself as
a real one, so every frame is rendered to an ANSI string (bytes counted, then dropped).

CPU per cycle is ``time.process_time()`` (all threads of this process) over the whole
cycle; the mock's response bodies are built before the cycle starts. An idle window of the
same length with no refresh is measured too and reported as the background cost.

Goal: mean CPU per cycle / interval <= 3 % of one core (at the default 5 s interval).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

GOAL_PERCENT = 3.0
T0 = 1_795_300_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Breakdown:
    """CPU (this thread's ``time.thread_time()``) spent in named app/Textual functions while on.

    Entries can nest (a layout refresh ends with a compositor refresh), so they do not add up.
    """

    def __init__(self) -> None:
        self.on = False
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, owner: object, name: str, label: str) -> None:
        import functools

        original = getattr(owner, name)
        bd = self

        @functools.wraps(original)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            if not bd.on:
                return original(*args, **kwargs)
            c0 = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                bd.cpu[label] = bd.cpu.get(label, 0.0) + time.thread_time() - c0
                bd.calls[label] = bd.calls.get(label, 0) + 1

        setattr(owner, name, wrapper)

    def install(self) -> Breakdown:
        from textual.screen import Screen
        from textual.widgets import DataTable

        import oncall_tui.clients.alertmanager as am
        import oncall_tui.clients.prometheus as prom
        from oncall_tui.clients import http
        from oncall_tui.clients.session import BackendSession
        from oncall_tui.screens.triage import TriageScreen
        from oncall_tui.widgets.tables import AlertsTable, SignalsTable

        self.wrap(http, "_decode_json", "json.loads (bodies not decoded by msgspec)")
        self.wrap(prom, "parse_envelope", "msgspec Prometheus envelopes (all bodies)")
        self.wrap(prom, "parse_query_data", "msgspec parse_query_data (instant + range)")
        self.wrap(prom, "parse_prom_alerts", "msgspec Prometheus /api/v1/alerts")
        self.wrap(am, "parse_alerts", "msgspec Alertmanager parse_alerts")
        self.wrap(
            BackendSession,
            "_assemble",
            "BackendSession._assemble (alerts merge, last points, build_rows)",
        )
        self.wrap(TriageScreen, "render_header", "TriageScreen.render_header")
        self.wrap(
            SignalsTable,
            "show_rows",
            "SignalsTable.show_rows (cells, sparklines, set_table)",
        )
        self.wrap(AlertsTable, "show_groups", "AlertsTable.show_groups (groups, cached cells, set_table)")
        self.wrap(
            DataTable, "clear", "  DataTable.clear (a table rebuilt: row order changed)"
        )
        self.wrap(
            DataTable,
            "update_cell",
            "  DataTable.update_cell (each refreshes the whole table)",
        )
        self.wrap(
            Screen, "_refresh_layout", "Screen._refresh_layout (layout + a paint)"
        )
        self.wrap(
            Screen,
            "_compositor_refresh",
            "Screen._compositor_refresh (paint, ANSI included)",
        )
        return self

    def report(self, cycles: int) -> None:
        print(
            "  breakdown (thread CPU ms per cycle, calls per cycle; entries nest, so they do not sum):"
        )
        for label, cpu in sorted(self.cpu.items(), key=lambda kv: -kv[1]):
            print(
                f"    {label:<68} {cpu / cycles * 1e3:7.1f} ms  {self.calls[label] / cycles:6.1f}"
            )


async def run(args: argparse.Namespace) -> dict:
    from _common import counting_driver_class
    from _mock_fleet import FleetTransport, fleet_settings

    from oncall_tui.app import OncallApp

    settings = fleet_settings(args.services, refresh_seconds=args.interval)
    context = settings.context(None)
    transport = FleetTransport(
        list(context.services),
        points=args.points,
        alerts=args.alerts,
        moving=not args.static,
    )
    clock = Clock()
    app = OncallApp(settings, transport=transport, clock=clock, periodic_refresh=False)
    driver_cls = counting_driver_class()
    app.driver_class = driver_cls
    profiler = None
    measuring = False
    breakdown = Breakdown().install() if args.breakdown else None

    async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
        # A plain sleep: Textual paints on its own update timer (60 fps) within it. (pilot.pause()
        # would poll for idleness and add its own CPU to every cycle.)
        await asyncio.sleep(args.settle)

    async def cycle(pilot) -> tuple[float, float, int, float]:  # type: ignore[no-untyped-def]
        clock.now += args.interval
        transport.prepare(clock.now)
        screen = app.triage_screen()
        assert screen is not None
        if profiler is not None:
            profiler.start()
        if breakdown is not None:
            breakdown.on = measuring
        b0, c0, w0 = driver_cls.bytes_written, time.process_time(), time.perf_counter()
        worker = screen.refresh_data()
        await worker.wait()
        c_worker = time.process_time() - c0
        await settle(pilot)
        c1, w1 = time.process_time(), time.perf_counter()
        if breakdown is not None:
            breakdown.on = False
        if profiler is not None:
            profiler.stop()
        return c1 - c0, w1 - w0, driver_cls.bytes_written - b0, c_worker

    width, height = args.size
    transport.prepare(clock.now)
    async with app.run_test(size=(width, height), headless=False) as pilot:
        await asyncio.wait_for(app.first_load.wait(), 60)
        await pilot.pause()
        await settle(pilot)
        data = app.incident.last_data
        assert data is not None and len(data.rows) == args.services, (
            "not all services loaded"
        )
        for _ in range(args.warmup):
            await cycle(pilot)
        # Background: the same wait with no refresh.
        idle = []
        for _ in range(3):
            c0, w0 = time.process_time(), time.perf_counter()
            await settle(pilot)
            idle.append((time.process_time() - c0) / (time.perf_counter() - w0))
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001, async_mode="disabled")
        if args.no_gc:
            gc.disable()
        measuring = True
        samples = [await cycle(pilot) for _ in range(args.cycles)]
        data = app.incident.last_data
        info = {
            "rows": len(data.rows),
            "alerts": len(data.alerts),
            "sources": {k: s.status(clock()) for k, s in app.incident.session.sources.items()},
            "color_system": app.console.color_system,
            "on_the_fly": transport.generated_on_the_fly,
        }
    return {
        "samples": samples,
        "idle": idle,
        "info": info,
        "profiler": profiler,
        "breakdown": breakdown,
    }


def main() -> None:
    from _common import parse_size

    from oncall_tui.clients.session import RANGE_POINTS

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Goal: <= 3 %% of one core at a 5 s refresh interval.",
    )
    parser.add_argument(
        "-n",
        "--cycles",
        type=int,
        default=30,
        help="measured refresh cycles (default 30)",
    )
    parser.add_argument(
        "--warmup", type=int, default=3, help="unmeasured cycles first (default 3)"
    )
    parser.add_argument(
        "--services", type=int, default=50, help="services in the fleet (default 50)"
    )
    parser.add_argument(
        "--points",
        type=int,
        default=RANGE_POINTS,
        help=f"points per series (default {RANGE_POINTS}, what the app asks for)",
    )
    parser.add_argument(
        "--alerts", type=int, default=30, help="Alertmanager alerts (default 30)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=5.0,
        help="refresh interval the %% is computed for, and the clock step (default 5)",
    )
    parser.add_argument(
        "--size",
        type=parse_size,
        default=(160, 45),
        metavar="WxH",
        help="terminal size (default 160x45)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.15,
        help="sleep after the worker so the frame is painted (default 0.15 s)",
    )
    parser.add_argument(
        "--static",
        action="store_true",
        help="values do not move between refreshes (an idle fleet)",
    )
    parser.add_argument(
        "--no-gc",
        action="store_true",
        help="disable the garbage collector while measuring",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also print CPU per cycle of the main app/Textual steps (adds a little overhead)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="profile the measured cycles with pyinstrument; write text to FILE (.html for HTML)",
    )
    parser.add_argument(
        "--color-system",
        default="truecolor",
        help="TEXTUAL_COLOR_SYSTEM (default truecolor; 'auto' to detect)",
    )
    args = parser.parse_args()
    os.environ["TEXTUAL_COLOR_SYSTEM"] = (
        args.color_system
    )  # read when textual is imported

    out = asyncio.run(run(args))
    samples, idle, info = out["samples"], out["idle"], out["info"]
    cpu = [c for c, _, _, _ in samples]
    wall = [w for _, w, _, _ in samples]
    written = [b for _, _, b, _ in samples]
    worker_cpu = [c for _, _, _, c in samples]
    idle_rate = statistics.fmean(idle)
    mean_cpu, med_cpu = statistics.fmean(cpu), statistics.median(cpu)
    background = idle_rate * statistics.fmean(wall)
    print(
        f"refresh CPU: {args.services} services ({info['rows']} rows), {info['alerts']} alerts shown, {args.points} points/series, "
        f"{args.size[0]}x{args.size[1]}, colour {info['color_system']}, values {'static' if args.static else 'moving'}, "
        f"{args.cycles} cycles after {args.warmup} warm-up; backends {info['sources']}"
    )
    if info["on_the_fly"]:
        print(
            f"  warning: the mock built {info['on_the_fly']} bodies inside measured cycles"
        )
    print(
        f"  per cycle CPU ms: mean {mean_cpu * 1e3:.1f}  median {med_cpu * 1e3:.1f}  min {min(cpu) * 1e3:.1f}  max {max(cpu) * 1e3:.1f}  "
        f"stdev {statistics.pstdev(cpu) * 1e3:.1f}"
    )
    print(
        f"    of which until the worker finished (fetch, parse, assemble, table updates; a paint may land here too): mean {statistics.fmean(worker_cpu) * 1e3:.1f} ms; "
        f"painting and the rest: mean {(mean_cpu - statistics.fmean(worker_cpu)) * 1e3:.1f} ms"
    )
    print(
        f"  per cycle wall ms: mean {statistics.fmean(wall) * 1e3:.1f} (includes a {args.settle * 1e3:.0f} ms sleep for the paint)"
    )
    print(
        f"  bytes written to the terminal per cycle: mean {statistics.fmean(written):.0f}  median {statistics.median(written):.0f}"
    )
    print(
        f"  background (idle, no refresh): {idle_rate * 100:.2f} % of a core, ~{background * 1e3:.1f} ms of each cycle's window"
    )
    pct = mean_cpu / args.interval * 100
    pct_net = (mean_cpu - background) / args.interval * 100
    print("\nRESULT")
    print(
        f"  CPU per refresh cycle: mean {mean_cpu * 1e3:.1f} ms, median {med_cpu * 1e3:.1f} ms"
    )
    print(
        f"  implied load at a {args.interval:g} s interval: {pct:.2f} % of one core "
        f"({pct_net:.2f} % net of idle background)   goal <= {GOAL_PERCENT:g} %: {'MET' if pct <= GOAL_PERCENT else 'MISSED'}"
    )

    if out["breakdown"] is not None:
        out["breakdown"].report(args.cycles)

    profiler = out["profiler"]
    if profiler is not None:
        path = Path(args.profile)
        if path.suffix == ".html":
            path.write_text(profiler.output_html())
        else:
            path.write_text(
                profiler.output_text(unicode=False, color=False, show_all=bool(os.environ.get("PROFILE_ALL")))
            )
        print(f"  profile written to {path}")


if __name__ == "__main__":
    main()
