"""oncall-tui against a real Alertmanager 0.25 holding thousands of alerts.

Starts a private Alertmanager (``tests/servers.py``: loopback, a free port, its own data
dir), posts ``--alerts`` N alerts (default 5,000) through ``POST /api/v2/alerts`` in batches,
with realistic labels (alertname from 40 names, service from 500 ``svc-000..svc-499``,
severity critical/warning/info, instance, pod, namespace; annotations summary, description,
runbook_url; startsAt spread over the last ``--spread-hours``, endsAt 1 h ahead, re-posted
while the benchmark runs so Alertmanager never resolves them). Prometheus is the running
one at 127.0.0.1:19090 when it answers (``--prometheus auto``), else a private one scraping
a small exporter with ``http_requests_total`` for 20 services. A temporary oncall-tui config
points at both.

Then, in one run:

(a) ``amtool alert query -o json --alertmanager.url=URL``: wall time, median of ``-n`` 5
    (after one unmeasured warm-up); ``curl -s URL/api/v2/alerts`` when amtool is absent.
(b) ``.venv/bin/oncall-tui snapshot --json --config CFG``: wall time, median of 5 (after one
    warm-up), and its ratio to (a).
(c) the live app: ``.venv/bin/oncall-tui --config CFG --refresh 5`` in a pty
    (``tests/journeys/harness.py``'s pyte terminal, 160x45); after a 15 s warm-up (and the
    alerts on screen) its CPU time (``/proc/PID/stat`` utime+stime, all threads) over
    ``--seconds`` 60 s, as % of one core.

Goals: live <= 5 % of one core; snapshot <= 3x amtool.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx

REALSTACK_PROMETHEUS = "http://127.0.0.1:19090"
GOAL_LIVE_PERCENT = 5.0
GOAL_SNAPSHOT_RATIO = 3.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

ALERT_NAMES = [
    "HighErrorRate", "HighLatencyP99", "HighLatencyP95", "TargetDown", "InstanceDown",
    "PodCrashLooping", "PodNotReady", "ContainerOOMKilled", "ContainerCPUThrottling",
    "ContainerMemoryHigh", "NodeDiskPressure", "NodeMemoryPressure", "NodeNotReady",
    "PersistentVolumeFillingUp", "KubeDeploymentReplicasMismatch", "KubeHpaMaxedOut",
    "KubeJobFailed", "CertificateExpiringSoon", "ProbeFailing", "SLOBurnRateFast",
    "SLOBurnRateSlow", "QueueBacklogGrowing", "ConsumerLagHigh", "DatabaseConnectionsHigh",
    "DatabaseReplicationLag", "CacheHitRateLow", "RedisMemoryHigh", "GRPCErrorsHigh",
    "HTTP5xxSpike", "RequestRateDrop", "GPUMemoryHigh", "GPUXidErrors", "GPUTemperatureHigh",
    "LLMKVCacheSaturated", "LLMTimeToFirstTokenHigh", "ModelServingHighErrorRate",
    "ModelLoadFailed", "BatchQueueFull", "ThreadPoolExhausted", "ClockSkewDetected",
]  # fmt: skip
NAMESPACES = ["ml-serving", "payments", "search", "checkout", "identity", "platform", "data", "edge"]
SEVERITIES = ["critical"] * 2 + ["warning"] * 5 + ["info"] * 3


def _h(*key: object) -> int:
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "big")


def make_alerts(count: int, *, spread_hours: float = 6.0, now: datetime | None = None) -> list[dict]:
    """``count`` distinct alerts (labels, annotations, startsAt) with deterministic content."""
    now = now or datetime.now(UTC)
    out = []
    for i in range(count):
        name = ALERT_NAMES[_h("name", i) % len(ALERT_NAMES)]
        svc = f"svc-{_h('svc', i) % 500:03d}"
        ns = NAMESPACES[_h("ns", svc) % len(NAMESPACES)]
        severity = SEVERITIES[_h("sev", name, i) % len(SEVERITIES)]
        replica = f"{_h('rs', svc) % 16**10:010x}"[:10]
        pod = f"{svc}-{replica}-{_h('pod', i) % 36**5:05x}"[:len(svc) + 17]
        ip = _h("ip", i)
        instance = f"10.{ip % 256}.{(ip >> 8) % 256}.{(ip >> 16) % 254 + 1}:8080"
        started = now - timedelta(seconds=_h("start", i) % int(spread_hours * 3600 + 1))
        out.append(
            {
                "labels": {
                    "alertname": name,
                    "service": svc,
                    "severity": severity,
                    "instance": instance,
                    "pod": pod,
                    "namespace": ns,
                    "cluster": "prod-eu-1",
                    "job": svc,
                },
                "annotations": {
                    "summary": f"{name} on {svc} ({pod})",
                    "description": (
                        f"{name} has been firing for {svc} in namespace {ns} on {instance}; "
                        f"value {(_h('v', i) % 10000) / 100:.2f}. Check the dashboard and recent deploys."
                    ),
                    "runbook_url": f"https://runbooks.example.com/{ns}/{name.lower()}",
                },
                "startsAt": started.isoformat(),
                "generatorURL": f"http://prometheus.example/graph?g0.expr=ALERTS%7Balertname%3D%22{name}%22%7D",
            }
        )
    return out


def post_alerts(am_url: str, alerts: Sequence[dict], *, batch: int = 500, ends_in: float = 3600.0) -> None:
    """POST ``alerts`` in batches with endsAt ``ends_in`` seconds ahead (keeps them firing)."""
    ends = (datetime.now(UTC) + timedelta(seconds=ends_in)).isoformat()
    with httpx.Client(timeout=60) as client:
        for k in range(0, len(alerts), batch):
            body = [{**a, "endsAt": ends} for a in alerts[k : k + batch]]
            client.post(f"{am_url}/api/v2/alerts", json=body).raise_for_status()


def am_alert_count(am_url: str) -> int:
    r = httpx.get(f"{am_url}/api/v2/alerts", params={"silenced": "false", "inhibited": "false"}, timeout=60)
    r.raise_for_status()
    return len(r.json())


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def proc_cpu(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def oncall_tui_bin() -> str:
    for candidate in (REPO / ".venv" / "bin" / "oncall-tui", Path(sys.executable).with_name("oncall-tui")):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("oncall-tui")
    if not found:
        raise SystemExit("oncall-tui is not installed (pip install -e . in .venv)")
    return found


class _Counters:
    """Rising ``http_requests_total`` for a private Prometheus to scrape (20 services)."""

    def __init__(self, exporter: object, services: int = 20) -> None:
        from tests.servers import exposition

        self.exporter, self.services, self._stop = exporter, services, threading.Event()
        self._exposition = exposition
        self._t0 = time.time()
        self.update()
        threading.Thread(target=self._run, daemon=True).start()

    def update(self) -> None:
        t = time.time() - self._t0
        series = []
        for s in range(self.services):
            svc = f"svc-{s:03d}"
            rate = 50 + 10 * s
            series.append(("http_requests_total", {"service": svc, "code": "200"}, round(rate * t)))
            series.append(("http_requests_total", {"service": svc, "code": "500"}, round(rate * t * 0.002 * (1 + s % 5))))
        self.exporter.body = self._exposition(series)  # type: ignore[attr-defined]

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.update()

    def stop(self) -> None:
        self._stop.set()


class Stack:
    """A private Alertmanager fed N alerts, a Prometheus, and an oncall-tui config; ``close()``
    stops what it started and removes its temporary directory."""

    def __init__(self, alerts: int, *, prometheus: str = "auto", spread_hours: float = 6.0, repost: float = 600.0, quiet: bool = False) -> None:
        self.count, self.prometheus_mode, self.spread_hours, self.repost = alerts, prometheus, spread_hours, repost
        self.quiet = quiet
        self.tmp = Path(tempfile.mkdtemp(prefix="oncall-am-scale-"))
        self.servers: list = []
        self._closers: list = []
        self._stop = threading.Event()
        self.am_url = self.prom_url = ""
        self.prom_note = ""
        self.config = self.tmp / "oncall-tui.yaml"
        self.state = self.tmp / "state"
        self.alerts: list[dict] = []

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, flush=True)

    def start(self) -> Stack:
        from tests import servers

        if not (shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")):
            raise SystemExit("Alertmanager is not installed (apt-get install -y prometheus-alertmanager)")
        am = servers.start_alertmanager(self.tmp / "am")
        self.servers.append(am)
        self.am_url = am.url
        version = subprocess.run([am.argv[0], "--version"], check=False, capture_output=True, text=True).stdout.split("\n")[0]
        self.log(f"alertmanager: {am.url} (pid {am.proc.pid}; {version.strip()})")

        mode = self.prometheus_mode
        if mode == "auto":
            mode = REALSTACK_PROMETHEUS if ready(REALSTACK_PROMETHEUS) else "private"
        if mode == "private":
            if not shutil.which("prometheus"):
                raise SystemExit("prometheus is not installed and 127.0.0.1:19090 does not answer")
            exporter = servers.Exporter()
            counters = _Counters(exporter)
            self._closers += [counters.stop, exporter.close]
            prom = servers.start_prometheus(self.tmp / "prom", [exporter.address])
            self.servers.append(prom)
            self.prom_url = prom.url
            self.prom_note = "private, 20 services with http_requests_total"
            time.sleep(3)  # a few scrapes, so rate() has two points
        else:
            if not ready(mode):
                raise SystemExit(f"Prometheus at {mode} does not answer /-/ready")
            self.prom_url = mode
            self.prom_note = "already running (services discovered)"
        self.log(f"prometheus: {self.prom_url} ({self.prom_note})")

        self.alerts = make_alerts(self.count, spread_hours=self.spread_hours)
        t0 = time.perf_counter()
        post_alerts(self.am_url, self.alerts)
        posted = time.perf_counter() - t0
        deadline = time.monotonic() + 30
        while (n := am_alert_count(self.am_url)) < self.count and time.monotonic() < deadline:
            time.sleep(0.5)
        if n != self.count:
            raise RuntimeError(f"Alertmanager holds {n} active alerts, expected {self.count}")
        self.log(f"posted {self.count} alerts in {posted:.1f} s (batches of 500); Alertmanager reports {n} active")
        threading.Thread(target=self._keep_firing, daemon=True).start()

        servers.write_config(self.config, prometheus=self.prom_url, alertmanager=self.am_url)
        self.state.mkdir()
        return self

    def _keep_firing(self) -> None:
        while not self._stop.wait(self.repost):
            try:
                post_alerts(self.am_url, self.alerts)
            except httpx.HTTPError as exc:
                print(f"  (re-post failed: {exc})", file=sys.stderr)

    def env(self) -> dict[str, str]:
        """Environment for an oncall-tui child: a private state dir, no ONCALL_TUI_* overrides."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONCALL_TUI_")}
        env["XDG_STATE_HOME"] = str(self.state)
        return env

    def am_pid(self) -> int:
        return self.servers[0].proc.pid

    def close(self) -> None:
        self._stop.set()
        for server in reversed(self.servers):
            try:
                server.kill()
            except Exception as exc:  # noqa: BLE001 - clean up the rest anyway
                print(f"  (stopping {server.name}: {exc})", file=sys.stderr)
        for closer in self._closers:
            closer()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()


def sigterm_as_interrupt() -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so the ``finally`` blocks stop the servers."""

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (a background job)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


# ---------------------------------------------------------------------------- measurements --
def timed(argv: Sequence[str], *, env: dict[str, str] | None = None) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    r = subprocess.run(argv, check=False, capture_output=True, env=env, timeout=120)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
    return wall, r.stdout


def measure_cli(label: str, argv: Sequence[str], runs: int, count_of, *, env: dict[str, str] | None = None) -> list[float]:
    timed(argv, env=env)  # warm-up (page cache, Alertmanager's first marshal)
    walls = []
    for _ in range(runs):
        wall, out = timed(argv, env=env)
        walls.append(wall)
    print(
        f"  {label}: {count_of(out)} alerts in the output, {len(out) / 1e6:.1f} MB; wall ms "
        f"median {statistics.median(walls) * 1e3:.0f}  min {min(walls) * 1e3:.0f}  max {max(walls) * 1e3:.0f}  "
        f"({', '.join(f'{w * 1e3:.0f}' for w in walls)})",
        flush=True,
    )
    return walls


def live_cpu(stack: Stack, *, warmup: float, seconds: float, refresh: float, size: tuple[int, int]) -> dict:
    from tests.journeys.harness import Terminal

    cols, rows = size
    spawned = time.monotonic()
    term = Terminal(["--config", str(stack.config), "--refresh", f"{refresh:g}"], cols=cols, rows=rows, env=stack.env())
    try:
        screen = term.wait_for(re.compile(r"ALERTS[^\n]*: [\d,]+ firing"), timeout=max(warmup, 60))
        first_data = time.monotonic() - spawned
        time.sleep(max(0.0, warmup - (time.monotonic() - spawned)))
        pid = term.proc.pid
        am_pid = stack.am_pid()
        b0, c0, a0, w0 = len(term.raw), proc_cpu(pid), proc_cpu(am_pid), time.monotonic()
        per_second = []
        last_c, last_w = c0, w0
        while (now := time.monotonic()) - w0 < seconds:
            time.sleep(min(1.0, seconds - (now - w0)))
            if term.proc.poll() is not None:
                raise RuntimeError(f"oncall-tui exited with {term.proc.returncode}:\n{term.screen()}")
            c, w = proc_cpu(pid), time.monotonic()
            per_second.append((c - last_c) / (w - last_w))
            last_c, last_w = c, w
        c1, a1, w1, b1 = proc_cpu(pid), proc_cpu(am_pid), time.monotonic(), len(term.raw)
        screen = term.screen()
    finally:
        term.close()
    title = next((m.group(0).strip() for m in re.finditer(r"ALERTS[^\n]*: [\d,]+ firing[^\n]*", screen)), "")
    window = sorted(sum(per_second[k : k + 5]) / 5 for k in range(max(1, len(per_second) - 4)))
    return {
        "percent": (c1 - c0) / (w1 - w0) * 100,
        "am_percent": (a1 - a0) / (w1 - w0) * 100,
        "bytes_per_s": (b1 - b0) / (w1 - w0),
        "first_data": first_data,
        "title": title,
        "peak_5s": window[-1] * 100 if window else 0.0,
        "seconds": w1 - w0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=5000, help="alerts to post (default 5000)")
    parser.add_argument("-n", "--runs", type=int, default=5, help="timed runs of amtool and snapshot each (default 5; median)")
    parser.add_argument("--seconds", type=float, default=60.0, help="live-app CPU window (default 60)")
    parser.add_argument("--warmup", type=float, default=15.0, help="live app: seconds after spawn before measuring (default 15)")
    parser.add_argument("--refresh", type=float, default=5.0, help="live app --refresh (default 5)")
    parser.add_argument("--size", default="160x45", metavar="WxH", help="live app terminal size (default 160x45)")
    parser.add_argument("--prometheus", default="auto", metavar="URL|auto|private", help="auto (default): 127.0.0.1:19090 if it answers, else a private one")
    parser.add_argument("--spread-hours", type=float, default=6.0, help="startsAt spread over the last N hours (default 6)")
    parser.add_argument("--skip-live", action="store_true", help="only (a) and (b)")
    args = parser.parse_args()
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    sigterm_as_interrupt()

    oncall = oncall_tui_bin()
    amtool = shutil.which("amtool")
    with Stack(args.alerts, prometheus=args.prometheus, spread_hours=args.spread_hours) as stack:
        print(f"config: {stack.config}\n", flush=True)
        if amtool:
            ref_label = "amtool alert query -o json"
            ref_argv = [amtool, "alert", "query", "-o", "json", f"--alertmanager.url={stack.am_url}"]
        else:
            ref_label = "curl -s /api/v2/alerts (amtool not installed)"
            ref_argv = ["curl", "-s", f"{stack.am_url}/api/v2/alerts"]
        ref = measure_cli(f"(a) {ref_label}", ref_argv, args.runs, lambda out: len(json.loads(out)))
        snap_argv = [oncall, "snapshot", "--json", "--config", str(stack.config)]
        snap = measure_cli(
            "(b) oncall-tui snapshot --json", snap_argv, args.runs, lambda out: len(json.loads(out).get("alerts", [])), env=stack.env()
        )
        ratio = statistics.median(snap) / statistics.median(ref)
        live = None
        if not args.skip_live:
            print(f"  (c) live app: spawning, {args.warmup:g} s warm-up, then {args.seconds:g} s of CPU sampling ...", flush=True)
            live = live_cpu(stack, warmup=args.warmup, seconds=args.seconds, refresh=args.refresh, size=(cols, rows))
            print(
                f"      first alerts on screen {live['first_data']:.1f} s after spawn; screen: {live['title']!r}\n"
                f"      terminal output {live['bytes_per_s'] / 1e3:.1f} KB/s; busiest 5 s: {live['peak_5s']:.1f} % of a core; "
                f"Alertmanager itself used {live['am_percent']:.1f} % of a core meanwhile",
                flush=True,
            )

    print("\nRESULT")
    print(f"  load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs (others' work shows up in the figures)")
    print(f"  alerts in Alertmanager: {args.alerts}; Prometheus: {stack.prom_url} ({stack.prom_note})")
    print(f"  (a) {ref_label}: median {statistics.median(ref) * 1e3:.0f} ms (of {args.runs})")
    print(
        f"  (b) oncall-tui snapshot --json: median {statistics.median(snap) * 1e3:.0f} ms (of {args.runs}); "
        f"ratio to (a) {ratio:.2f}x   goal <= {GOAL_SNAPSHOT_RATIO:g}x: {'MET' if ratio <= GOAL_SNAPSHOT_RATIO else 'MISSED'}"
    )
    if live is not None:
        pct = live["percent"]
        print(
            f"  (c) live app, --refresh {args.refresh:g}, {cols}x{rows}: {pct:.2f} % of one core over {live['seconds']:.0f} s   "
            f"goal <= {GOAL_LIVE_PERCENT:g} %: {'MET' if pct <= GOAL_LIVE_PERCENT else 'MISSED'}"
        )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped, temporary files removed", file=sys.stderr)
        sys.exit(130)
