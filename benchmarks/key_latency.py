"""Key -> frame latency on the triage screen while 5,000-alert refreshes run.

Runs ``OncallApp`` in this process (``app.run_test(headless=False)`` with ``_common.py``'s
byte-counting driver, so every frame is rendered to ANSI and written) with periodic refresh
ON every ``--interval`` 2 s, against ``am_scale.py``'s setup: a private, real Alertmanager
0.25 holding ``--alerts`` 5,000 alerts and Prometheus (127.0.0.1:19090 when it answers, else
a private one). ``--mock`` uses ``_mock_fleet.py``'s synthetic 50-service fleet with 5,000
alerts instead (no servers; the mock builds its bodies inside the app's event loop).

Keys are sent as a terminal's input thread sends them: a separate thread stamps the press
time and hands a ``Key`` event to the driver (``Driver.process_message``, thread-safe), so a
press made while the event loop is busy with a refresh waits for it, as a real one does.
After ``--warmup`` s, ``tab`` (to the alerts table), then ``--presses`` 200 of ``j``/``k``
(20 down, 20 up, ...) ``--gap`` 50 ms apart. For each press: latency = the first write of a
frame to the terminal after the key's action ran (``DataTable.action_cursor_down/up``,
``TriageScreen.action_next_pane``), minus the press time. A press "landed during a refresh"
when its time falls between the start of a backend fetch and the end of the paint of what it
brought (``BackendSession.refresh`` start -> ``TriageScreen._deliver`` end).

Prints p50/p95/max in ms (all presses, those during a refresh, the rest), the refresh cycles
seen and how long each blocked; goal: p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

GOAL_P95_MS = 50.0
STOP = threading.Event()  # set by Ctrl-C / SIGTERM


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


class Probe:
    """Timestamps of frame writes, key actions and refresh phases (time.monotonic)."""

    def __init__(self) -> None:
        self.writes: list[float] = []
        self.handled: dict[int, float] = {}
        self.current: int | None = None  # the press whose action is awaited
        self.fetches: list[tuple[float, float]] = []
        self.delivers: list[tuple[float, float]] = []

    def install(self, driver_cls: type) -> type:
        from textual.widgets import DataTable

        from oncall_tui.clients.session import BackendSession
        from oncall_tui.screens.triage import TriageScreen

        probe = self

        class TimedDriver(driver_cls):  # type: ignore[misc, valid-type]
            def write(self, data: str) -> None:
                super().write(data)
                probe.writes.append(time.monotonic())

        def on_action(owner: type, name: str) -> None:
            original = getattr(owner, name)

            def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                result = original(self, *args, **kwargs)
                if probe.current is not None and probe.current not in probe.handled:
                    probe.handled[probe.current] = time.monotonic()
                return result

            setattr(owner, name, wrapper)

        on_action(DataTable, "action_cursor_down")
        on_action(DataTable, "action_cursor_up")
        on_action(TriageScreen, "action_next_pane")

        original_refresh = BackendSession.refresh

        async def refresh(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            t0 = time.monotonic()
            try:
                return await original_refresh(self, *args, **kwargs)
            finally:
                probe.fetches.append((t0, time.monotonic()))

        BackendSession.refresh = refresh  # type: ignore[method-assign]

        original_deliver = TriageScreen._deliver

        async def deliver(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            t0 = time.monotonic()
            try:
                return await original_deliver(self, *args, **kwargs)
            finally:
                probe.delivers.append((t0, time.monotonic()))

        TriageScreen._deliver = deliver  # type: ignore[method-assign]
        return TimedDriver

    def refresh_windows(self) -> list[tuple[float, float, float]]:
        """(fetch start, paint end, deliver CPU) per deliver: from the earliest fetch that ended
        since the previous deliver to the first frame written after this deliver."""
        windows = []
        prev_end = float("-inf")
        for d0, d1 in sorted(self.delivers):
            starts = [f0 for f0, f1 in self.fetches if prev_end <= f1 <= d1]
            start = min(starts) if starts else d0
            k = bisect.bisect_left(self.writes, d1)
            end = self.writes[k] if k < len(self.writes) else d1
            windows.append((start, end, d1 - d0))
            prev_end = d1
        return windows


def presser(app, loop: asyncio.AbstractEventLoop, probe: Probe, keys: list[str], gap: float, presses: list) -> None:  # type: ignore[no-untyped-def]
    """A terminal's input thread: stamp, then hand the Key to the driver."""
    from textual import events

    chars = {"tab": "\t", "j": "j", "k": "k"}
    for i, key in enumerate(keys):
        if STOP.is_set():
            break
        probe.current = i
        event = events.Key(key, chars[key])
        t = time.monotonic()
        presses.append((key, t))
        app._driver.process_message(event)
        # Wait for the action before the next key (a fast typist's keys never overtake a frame
        # here, so each latency is one key's), then keep the cadence.
        deadline = t + 5.0
        while i not in probe.handled and time.monotonic() < deadline and not STOP.is_set():
            time.sleep(0.001)
        time.sleep(max(0.0, t + gap - time.monotonic()))
    probe.current = None


async def run(args: argparse.Namespace, settings, transport, state: Path) -> dict:  # type: ignore[no-untyped-def]
    """The app run; Ctrl-C/SIGTERM stop the presses and end the app normally, then raise
    KeyboardInterrupt (cancelling inside ``run_test`` can leave it waiting forever)."""
    install_stop_handlers()
    out = await _run(args, settings, transport, state)
    if STOP.is_set():
        raise KeyboardInterrupt
    return out


def install_stop_handlers() -> None:
    """Ctrl-C, SIGTERM and SIGHUP set STOP (again once the app is mounted: the app installs
    its own SIGTERM/SIGHUP handlers when its driver is not headless, as ours claims)."""
    import signal

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, STOP.set)


async def _sleep(seconds: float) -> None:
    """``asyncio.sleep`` that ends early once STOP is set."""
    end = time.monotonic() + seconds
    while not STOP.is_set() and (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(left, 0.05))


async def _run(args: argparse.Namespace, settings, transport, state: Path) -> dict:  # type: ignore[no-untyped-def]
    from _common import counting_driver_class

    from oncall_tui.app import OncallApp

    probe = Probe()
    driver_cls = probe.install(counting_driver_class())
    app = OncallApp(settings, transport=transport, refresh_seconds=args.interval, periodic_refresh=True, state_path=state)
    app.driver_class = driver_cls
    width, height = args.size
    keys = ["tab"] + [("j" if (k // 20) % 2 == 0 else "k") for k in range(args.presses)]
    presses: list[tuple[str, float]] = []
    async with app.run_test(size=(width, height), headless=False) as pilot:
        await pilot.pause()
        install_stop_handlers()
        loaded = asyncio.ensure_future(app.first_load.wait())
        deadline = time.monotonic() + 120
        while not loaded.done() and not STOP.is_set():
            if time.monotonic() > deadline:
                raise RuntimeError("no first load within 120 s")
            await asyncio.sleep(0.05)
        loaded.cancel()
        t_loaded = time.monotonic()
        await _sleep(args.warmup)
        data = app.incident.last_data
        info = {
            "alerts": len(data.alerts) if data else 0,
            "rows": len(data.rows) if data else 0,
            "sources": {k: s.status(app.incident.clock()) for k, s in app.incident.session.sources.items()},
        }
        thread = threading.Thread(target=presser, args=(app, asyncio.get_running_loop(), probe, keys, args.gap, presses), daemon=True)
        t0 = time.monotonic()
        if not STOP.is_set():
            thread.start()
        while thread.is_alive():
            if not app.is_running:
                STOP.set()
            await asyncio.sleep(0.05)
        await _sleep(0.5)  # the last frame
        t1 = time.monotonic()
        screen = app.triage_screen()
        focused = type(screen.focused).__name__ if screen is not None and screen.focused is not None else None
    return {"probe": probe, "presses": presses, "info": info, "window": (t0, t1), "loaded": t_loaded, "focused": focused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=5000, help="alerts in Alertmanager (default 5000)")
    parser.add_argument("--interval", type=float, default=2.0, help="periodic refresh interval, s (default 2)")
    parser.add_argument("--presses", type=int, default=200, help="j/k presses after the tab (default 200)")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between presses (default 0.05)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after the first load before pressing (default 5)")
    parser.add_argument("--size", default="160x45", metavar="WxH", help="terminal size (default 160x45)")
    parser.add_argument("--mock", action="store_true", help="_mock_fleet.py's synthetic transport (50 services) instead of real servers")
    parser.add_argument("--prometheus", default="auto", metavar="URL|auto|private", help="as am_scale.py (default auto)")
    parser.add_argument("--color-system", default="truecolor", help="TEXTUAL_COLOR_SYSTEM (default truecolor)")
    args = parser.parse_args()
    args.size = tuple(int(v) for v in args.size.lower().split("x"))
    os.environ["TEXTUAL_COLOR_SYSTEM"] = args.color_system  # read when textual is imported

    import tempfile

    from am_scale import Stack, sigterm_as_interrupt

    sigterm_as_interrupt()
    if args.mock:
        import shutil

        from _mock_fleet import FleetTransport, fleet_settings

        settings = fleet_settings(50, refresh_seconds=args.interval)
        transport = FleetTransport(list(settings.context(None).services), alerts=args.alerts)
        tmp = Path(tempfile.mkdtemp(prefix="oncall-key-latency-"))
        try:
            out = asyncio.run(run(args, settings, transport, tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        backend = f"mock fleet (_mock_fleet.py), 50 services, {args.alerts} alerts"
    else:
        from oncall_tui.settings import load_settings

        with Stack(args.alerts, prometheus=args.prometheus) as stack:
            settings = load_settings(stack.config)
            out = asyncio.run(run(args, settings, None, stack.state))
            backend = f"real Alertmanager with {args.alerts} alerts, Prometheus {stack.prom_url} ({stack.prom_note})"
    report(args, out, backend)


def report(args: argparse.Namespace, out: dict, backend: str) -> None:
    probe: Probe = out["probe"]
    presses = out["presses"]
    windows = probe.refresh_windows()
    t0, t1 = out["window"]
    in_run = [w for w in windows if w[1] >= t0 and w[0] <= t1]

    lat: list[tuple[str, float, bool]] = []
    missing = 0
    for i, (key, t) in enumerate(presses):
        handled = probe.handled.get(i)
        if handled is None:
            missing += 1
            continue
        k = bisect.bisect_left(probe.writes, handled)
        if k >= len(probe.writes):
            missing += 1
            continue
        during = any(s <= t <= e for s, e, _ in windows)
        lat.append((key, (probe.writes[k] - t) * 1e3, during))

    jk = [ms for key, ms, _ in lat if key != "tab"]
    during = [ms for key, ms, d in lat if key != "tab" and d]
    outside = [ms for key, ms, d in lat if key != "tab" and not d]
    tab = [ms for key, ms, _ in lat if key == "tab"]

    def line(label: str, values: list[float]) -> str:
        if not values:
            return f"  {label:<34} none"
        return (
            f"  {label:<34} n={len(values):<4} p50 {pct(values, 50):6.1f}  p95 {pct(values, 95):6.1f}  "
            f"max {max(values):6.1f}  mean {statistics.fmean(values):6.1f} ms"
        )

    info = out["info"]
    print(
        f"key latency: {backend}; {args.size[0]}x{args.size[1]}, refresh every {args.interval:g} s; "
        f"{info['alerts']} alerts and {info['rows']} service rows shown; backends {info['sources']}"
    )
    print(
        f"  {len(presses) - 1} j/k presses {args.gap * 1e3:.0f} ms apart after a tab (focus ends on {out['focused']}); "
        f"{len(in_run)} refresh cycles during the {t1 - t0:.1f} s of pressing"
    )
    if in_run:
        blocked = [c * 1e3 for _, _, c in in_run]
        spans = [(e - s) * 1e3 for s, e, _ in in_run]
        print(
            f"  refresh cycle (fetch start -> painted): median {statistics.median(spans):.0f} ms, max {max(spans):.0f} ms; "
            f"of which _deliver (assemble + tables, blocks the loop): median {statistics.median(blocked):.0f} ms, max {max(blocked):.0f} ms"
        )
    if missing:
        print(f"  warning: {missing} presses had no action or no frame after it")
    if tab:
        print(f"  tab -> frame: {tab[0]:.1f} ms")
    print(line("j/k, all", jk))
    print(line("j/k, landed during a refresh", during))
    print(line("j/k, outside a refresh", outside))
    print("\nRESULT")
    print(f"  load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs (others' work shows up in the figures)")
    print(
        f"  key -> frame (j/k, {len(jk)} presses): p50 {pct(jk, 50):.1f} ms  p95 {pct(jk, 95):.1f} ms  max {max(jk) if jk else float('nan'):.1f} ms; "
        f"{len(during)} of {len(jk)} presses landed during a refresh"
    )
    p95 = pct(jk, 95)
    print(f"  goal p95 <= {GOAL_P95_MS:g} ms: {'MET' if p95 <= GOAL_P95_MS else 'MISSED'}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped, temporary files removed", file=sys.stderr)
        sys.exit(130)
