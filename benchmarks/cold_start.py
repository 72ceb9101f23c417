"""Cold start to a populated triage screen, against the real Prometheus/Alertmanager stack.

Each run spawns a fresh interpreter that imports oncall-tui, loads the config, builds the app
and runs it at 120x40 until the first frame that shows data rows (after ``app.first_load``).
The floor is a fresh interpreter running a trivial Textual app that issues the same nine
HTTP requests with plain httpx (the six batched ``query_range`` golden-signal queries from
``build_signal_queries``, Alertmanager's alerts and silences, Prometheus' alerts) and shows
the results in two DataTables. Both children render real ANSI frames into a byte-counting
driver (see ``_common.py``), so "first render" includes producing the terminal output.

Times run from just before the parent spawns the child (``time.monotonic()``, which is
system-wide on Linux) to the child's first data frame. Runs alternate app/floor.

Needs the realstack: ``curl -s 127.0.0.1:19090/-/ready``; start it with
``REALSTACK_INCIDENT_AFTER=0 REALSTACK_PYTHON=$PWD/.venv/bin/python ../shared/realstack/start.sh``.

Goal: app/floor median <= 1.3x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOAL = 1.3
PHASES = ("script", "imported", "built", "first_paint", "first_load", "first_frame")


# ------------------------------------------------------------------------------ children --
def _mark(marks: dict[str, float], name: str, t0: float) -> None:
    marks[name] = time.monotonic() - t0


def child_app(args: argparse.Namespace) -> None:
    t0 = float(os.environ["BENCH_T0"])
    marks: dict[str, float] = {}
    _mark(marks, "script", t0)
    from _common import FrameProbe, counting_driver_class

    from oncall_tui.app import OncallApp
    from oncall_tui.settings import load_settings

    _mark(marks, "imported", t0)
    settings = load_settings(args.config)
    app = OncallApp(settings)
    app.driver_class = counting_driver_class()
    _mark(marks, "built", t0)
    probe = FrameProbe().install()
    done = asyncio.Event()
    probe.callbacks.append(done.set)

    data_loaded = app.data_loaded

    def on_data_loaded(data, changed=None):  # type: ignore[no-untyped-def]
        # The moment the app sets first_load (a task awaiting the event would wake later).
        if not app.first_load.is_set():
            _mark(marks, "first_load", t0)
        data_loaded(data, changed)

    app.data_loaded = on_data_loaded  # type: ignore[method-assign]

    async def main() -> None:
        width, height = args.size
        async with app.run_test(size=(width, height), headless=False):
            await asyncio.wait_for(done.wait(), args.timeout)
            marks["first_paint"] = probe.first_paint - t0  # type: ignore[operator]
            marks["first_frame"] = probe.first_data_frame - t0  # type: ignore[operator]
            if not app.first_load.is_set():
                raise SystemExit("data rows painted before first_load?")
            data = app.incident.last_data
            extra = {
                "rows": len(data.rows) if data else 0,
                "alerts": len(data.alerts) if data else 0,
                "sources": {
                    k: s.status(app.clock()) for k, s in app.incident.session.sources.items()
                },
                "bytes_to_first_frame": app.driver_class.bytes_written,
                "cpu_s": time.process_time(),
            }
        print(json.dumps({"marks": marks, **extra}), flush=True)

    asyncio.run(main())


def child_floor(args: argparse.Namespace) -> None:
    t0 = float(os.environ["BENCH_T0"])
    marks: dict[str, float] = {}
    _mark(marks, "script", t0)
    if args.child == "floor-settings":
        # The floor plus the one thing the app cannot skip: reading and validating its
        # config with the settings models (pydantic), so the config file, line and key of a
        # mistake can be named. The rest of the floor is unchanged.
        from oncall_tui.settings import load_settings

        load_settings(args.config)
    import httpx
    from _common import FrameProbe, counting_driver_class
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    _mark(marks, "imported", t0)
    spec = json.loads(Path(args.spec).read_text())
    prom, am = spec["prometheus"], spec["alertmanager"]
    queries: dict[str, str] = spec["queries"]
    services: list[str] = spec["services"]

    class Floor(App[None]):
        def __init__(self) -> None:
            super().__init__()
            self.loaded = asyncio.Event()
            self.counts = (0, 0)

        def compose(self) -> ComposeResult:
            yield DataTable(id="signals", cursor_type="row")
            yield DataTable(id="alerts", cursor_type="row")

        def on_mount(self) -> None:
            self.run_worker(self.load(), exclusive=True)

        async def load(self) -> None:
            self.client = httpx.AsyncClient(timeout=10.0)
            now = time.time()
            start, end, step = now - spec["span"], now, spec["step"]
            get = self.client.get
            jobs = [
                get(
                    f"{prom}/api/v1/query_range",
                    params={
                        "query": q,
                        "start": f"{start:.3f}",
                        "end": f"{end:.3f}",
                        "step": f"{step:g}",
                    },
                )
                for q in queries.values()
            ]
            jobs += [
                get(f"{am}/api/v2/alerts"),
                get(f"{am}/api/v2/silences"),
                get(f"{prom}/api/v1/alerts"),
            ]
            responses = await asyncio.gather(*jobs)
            bodies = [r.json() for r in responses]
            values: dict[str, dict[str, str]] = {s: {} for s in services}
            for signal, body in zip(queries, bodies, strict=False):
                for series in body["data"]["result"]:
                    svc = series["metric"].get("service")
                    if svc in values and series["values"]:
                        values[svc][signal] = f"{float(series['values'][-1][1]):.3g}"
            signals = self.query_one("#signals", DataTable)
            signals.add_columns("SERVICE", *queries)
            for svc in services:
                signals.add_row(
                    svc, *(values[svc].get(s, "-") for s in queries), key=svc
                )
            alerts = self.query_one("#alerts", DataTable)
            alerts.add_columns("ALERT", "SERVICE", "STATE", "SUMMARY")
            am_alerts = bodies[len(queries)]
            for a in am_alerts:
                alerts.add_row(
                    a["labels"].get("alertname", "?"),
                    a["labels"].get("service", "-"),
                    a["status"]["state"],
                    a["annotations"].get("summary", ""),
                )
            self.counts = (len(services), len(am_alerts))
            self.loaded.set()

    app = Floor()
    app.driver_class = counting_driver_class()
    _mark(marks, "built", t0)
    probe = FrameProbe().install()
    done = asyncio.Event()
    probe.callbacks.append(done.set)

    async def main() -> None:
        width, height = args.size
        async with app.run_test(size=(width, height), headless=False):
            await asyncio.wait_for(done.wait(), args.timeout)
            marks["first_paint"] = probe.first_paint - t0  # type: ignore[operator]
            marks["first_frame"] = probe.first_data_frame - t0  # type: ignore[operator]
            await app.loaded.wait()
            marks["first_load"] = marks[
                "first_frame"
            ]  # the floor has no separate event
            extra = {
                "rows": app.counts[0],
                "alerts": app.counts[1],
                "bytes_to_first_frame": app.driver_class.bytes_written,
                "cpu_s": time.process_time(),
            }
            await app.client.aclose()
        print(json.dumps({"marks": marks, **extra}), flush=True)

    asyncio.run(main())


# -------------------------------------------------------------------------------- parent --
def _ready(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/-/ready", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def build_spec(config: str) -> dict:
    """The floor's requests: the app's own batched queries over the configured (or discovered) services."""
    import httpx

    from oncall_tui.clients.session import RANGE_POINTS
    from oncall_tui.core.signals import (
        build_signal_queries,
        discover_services,
        discovery_query,
    )
    from oncall_tui.core.timerange import TimeRange
    from oncall_tui.settings import load_settings

    settings = load_settings(config)
    context = settings.context(None)
    prom = context.endpoint("prometheus")
    am = context.endpoint("alertmanager")
    if prom is None or am is None:
        raise SystemExit(
            f"{config}: the current context needs a prometheus and an alertmanager endpoint"
        )
    prom_url, am_url = str(prom.url).rstrip("/"), str(am.url).rstrip("/")
    for url in (prom_url, am_url):
        if not _ready(url):
            raise SystemExit(
                f"{url}/-/ready does not answer: start the realstack first, e.g.\n"
                "  REALSTACK_INCIDENT_AFTER=0 REALSTACK_PYTHON=$PWD/.venv/bin/python ../shared/realstack/start.sh"
            )
    services = list(context.services)
    if not services:
        body = httpx.get(
            f"{prom_url}/api/v1/query", params={"query": discovery_query()}, timeout=10
        ).json()
        services = discover_services(s["metric"] for s in body["data"]["result"])
    start, end, step = TimeRange().window(time.time(), points=RANGE_POINTS)
    return {
        "prometheus": prom_url,
        "alertmanager": am_url,
        "services": [s.name for s in services],
        "queries": build_signal_queries(services),
        "span": end - start,
        "step": step,
    }


def spawn(
    kind: str, args: argparse.Namespace, spec_path: str, flags: tuple[str, ...] = ()
) -> dict:
    cmd = [
        args.python,
        *flags,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--config",
        args.config,
        "--spec",
        spec_path,
        "--size",
        f"{args.size[0]}x{args.size[1]}",
        "--timeout",
        str(args.timeout),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE), str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    t0 = time.monotonic()
    env["BENCH_T0"] = repr(t0)
    env["TEXTUAL_COLOR_SYSTEM"] = args.color_system
    proc = subprocess.run(
        cmd,
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=args.timeout + 30,
        check=False,
    )
    total = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(
            f"{kind} child failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_total"] = total
    result["stderr"] = proc.stderr
    return result


def import_times(stderr: str) -> dict[str, tuple[int, int]]:
    """``-X importtime`` lines: module -> (self us, cumulative us)."""
    out = {}
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            self_us, cum_us, name = line[len("import time:") :].split("|", 2)
            out[name.strip()] = (int(self_us), int(cum_us))
    return out


def report_imports(args: argparse.Namespace, spec_path: str, top: int = 15) -> None:
    app = import_times(spawn("app", args, spec_path, ("-X", "importtime"))["stderr"])
    floor = import_times(
        spawn("floor", args, spec_path, ("-X", "importtime"))["stderr"]
    )
    only = {k: v for k, v in app.items() if k not in floor}
    print(
        f"\nimports (-X importtime, one run each): app {sum(v[0] for v in app.values()) / 1e3:.0f} ms in {len(app)} modules, "
        f"floor {sum(v[0] for v in floor.values()) / 1e3:.0f} ms in {len(floor)}; "
        f"modules only the app imports: {sum(v[0] for v in only.values()) / 1e3:.0f} ms in {len(only)}"
    )
    print(f"  top {top} of those by self time (self / cumulative ms):")
    for name, (self_us, cum_us) in sorted(only.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"    {self_us / 1e3:6.1f} {cum_us / 1e3:7.1f}  {name}")


def report(name: str, runs: list[dict]) -> None:
    from _common import summary

    print(f"\n{name}: {len(runs)} runs (ms from spawn; median / min / max)")
    for phase in PHASES:
        vals = [r["marks"][phase] for r in runs if phase in r["marks"]]
        if not vals:
            continue
        s = summary(vals)
        print(
            f"  {phase:<12} {s['median'] * 1e3:8.1f} {s['min'] * 1e3:8.1f} {s['max'] * 1e3:8.1f}"
        )
    s = summary([r["process_total"] for r in runs])
    print(
        f"  {'exit':<12} {s['median'] * 1e3:8.1f} {s['min'] * 1e3:8.1f} {s['max'] * 1e3:8.1f}   (process gone, incl. shutdown)"
    )
    cpu = summary([r["cpu_s"] for r in runs])
    print(
        f"  child CPU to first frame: median {cpu['median'] * 1e3:.1f} ms; "
        f"{runs[0]['rows']} service rows, {runs[0]['alerts']} alerts, "
        f"{runs[0]['bytes_to_first_frame']} bytes written by then"
    )
    if "sources" in runs[0]:
        print(f"  backends: {runs[0]['sources']}")


def main() -> None:
    from _common import parse_size

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Goal: median app / floor <= 1.3x.",
    )
    parser.add_argument(
        "-n", "--runs", type=int, default=5, help="measured runs of each (default 5)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="discarded runs of each first (default 1, warms the page cache)",
    )
    parser.add_argument(
        "--config",
        default=str(ROOT / "config" / "local-stack.yaml"),
        help="oncall-tui config (default config/local-stack.yaml)",
    )
    parser.add_argument(
        "--size",
        type=parse_size,
        default=(120, 40),
        metavar="WxH",
        help="terminal size (default 120x40)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="per-run limit in seconds (default 60)",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter for the children (default: this one)",
    )
    parser.add_argument(
        "--color-system",
        default="truecolor",
        help="TEXTUAL_COLOR_SYSTEM for both children (default truecolor)",
    )
    parser.add_argument(
        "--imports",
        action="store_true",
        help="also run each child once with -X importtime and list the app's extra imports",
    )
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="do not compile oncall_tui's bytecode first (measures a source-only checkout)",
    )
    parser.add_argument(
        "--settings-floor",
        action="store_true",
        help="also run the floor plus loading the config with oncall_tui.settings (pydantic)",
    )
    parser.add_argument("--child", choices=("app", "floor", "floor-settings"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "app":
        return child_app(args)
    if args.child in ("floor", "floor-settings"):
        return child_floor(args)

    sys.path.insert(0, str(HERE))
    if not args.no_compile:
        # An installed package has its bytecode compiled (pip does it); an editable checkout
        # under PYTHONDONTWRITEBYTECODE=1 would recompile ~60 modules from source on every
        # start (~150 ms) while the floor's site-packages are compiled. Compile once, as pip would.
        import compileall

        compileall.compile_dir(str(ROOT / "oncall_tui"), quiet=1)
        print("bytecode of oncall_tui compiled (as an installed package has it; --no-compile skips)")
    spec = build_spec(args.config)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
        spec_path = fh.name
    try:
        print(
            f"cold start: {args.runs} runs (+{args.warmup} warm-up) each, {args.size[0]}x{args.size[1]}, "
            f"config {os.path.relpath(args.config, ROOT)}, services {', '.join(spec['services'])}; python {args.python}"
        )
        app_runs: list[dict] = []
        floor_runs: list[dict] = []
        settings_runs: list[dict] = []
        for i in range(args.warmup + args.runs):
            a = spawn("app", args, spec_path)
            f = spawn("floor", args, spec_path)
            fs = spawn("floor-settings", args, spec_path) if args.settings_floor else None
            tag = "warm-up" if i < args.warmup else f"run {i - args.warmup + 1}"
            extra = f"   floor+settings {fs['marks']['first_frame'] * 1e3:7.1f} ms" if fs else ""
            print(
                f"  {tag:<8} app {a['marks']['first_frame'] * 1e3:7.1f} ms   floor {f['marks']['first_frame'] * 1e3:7.1f} ms{extra}",
                flush=True,
            )
            if i >= args.warmup:
                app_runs.append(a)
                floor_runs.append(f)
                if fs:
                    settings_runs.append(fs)
        report("oncall-tui (spawn -> first frame with data)", app_runs)
        report("floor: plain httpx + Textual DataTable", floor_runs)
        if settings_runs:
            report("floor + load_settings (the config validated by the settings models)", settings_runs)
        from _common import summary

        app_s = summary([r["marks"]["first_frame"] for r in app_runs])
        floor_s = summary([r["marks"]["first_frame"] for r in floor_runs])
        ratio = app_s["median"] / floor_s["median"]
        print("\nRESULT spawn -> first frame with data")
        print(
            f"  app    median {app_s['median'] * 1e3:.1f} ms  min {app_s['min'] * 1e3:.1f}  max {app_s['max'] * 1e3:.1f}"
        )
        print(
            f"  floor  median {floor_s['median'] * 1e3:.1f} ms  min {floor_s['min'] * 1e3:.1f}  max {floor_s['max'] * 1e3:.1f}"
        )
        print(
            f"  ratio app/floor (medians) {ratio:.2f}x  (min/min {app_s['min'] / floor_s['min']:.2f}x)  "
            f"goal <= {GOAL}x: {'MET' if ratio <= GOAL else 'MISSED'}"
        )
        if settings_runs:
            fs_s = summary([r["marks"]["first_frame"] for r in settings_runs])
            print(
                f"  floor+settings median {fs_s['median'] * 1e3:.1f} ms = {fs_s['median'] / floor_s['median']:.2f}x the floor; "
                f"app / (floor+settings) {app_s['median'] / fs_s['median']:.2f}x"
            )
        if args.imports:
            report_imports(args, spec_path)
    finally:
        os.unlink(spec_path)


if __name__ == "__main__":
    main()
