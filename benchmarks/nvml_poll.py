"""NVML polling cost per GPU-screen refresh: one ``NvmlSource.snapshot()`` for 8 GPUs.

Two sources, measured one after the other in this process:

- **fake**: the fake pynvml of ``tests/test_nvml.py`` with ``--gpus`` H100s and
  ``--procs`` processes per GPU (distinct live PIDs of this host, so the ``/proc`` lookups of
  user and command line really happen). Its NVML calls cost nothing, so this is the adapter's own
  overhead (Python, one call per field, /proc reads). ``--call-us`` adds a busy-wait per NVML
  call to model a driver's latency (the count of calls per snapshot is printed, so any
  latency can be extrapolated).
- **real**: ``pynvml`` on this host's GPUs, when NVML initialises (otherwise the reason is
  printed and the run skipped).

Each source gets ``--warmup`` unmeasured snapshots (the first one initialises NVML, reads the
static fields and registers XID events), then ``-n`` measured ones, timed with
``time.perf_counter()``; ``time.process_time()`` gives the CPU share. Prints median / p95 /
mean / min / max ms per snapshot and ``RESULT`` lines. Goal: median ≤ 20 ms for 8 GPUs.
Prints figures; never fails on a missed goal.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GOAL_MS = 20.0


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(source: Any, n: int, warmup: int) -> tuple[list[float], float, Any]:
    """Wall ms of each of ``n`` snapshots, CPU ms per snapshot, and the last snapshot."""
    snap = None
    for _ in range(warmup):
        snap = source.snapshot()
    wall: list[float] = []
    cpu0 = time.process_time()
    for _ in range(n):
        t0 = time.perf_counter()
        snap = source.snapshot()
        wall.append((time.perf_counter() - t0) * 1000)
    cpu_ms = (time.process_time() - cpu0) * 1000 / n
    return wall, cpu_ms, snap


def report(label: str, wall: list[float], cpu_ms: float, extra: str = "") -> None:
    median = statistics.median(wall)
    print(
        f"{label:<5} median {median:6.2f} ms  p95 {_p95(wall):6.2f} ms  "
        f"mean {statistics.fmean(wall):6.2f} ms  min {min(wall):6.2f}  max {max(wall):6.2f}  "
        f"cpu {cpu_ms:6.2f} ms/snapshot{extra}"
    )
    verdict = "meets" if median <= GOAL_MS else "MISSES"
    print(f"RESULT {label}: median {median:.2f} ms, p95 {_p95(wall):.2f} ms per snapshot "
          f"({verdict} the {GOAL_MS:.0f} ms goal)")  # fmt: skip


def fake_source(gpus: int, procs: int, call_us: float) -> tuple[Any, Any]:
    from oncall_tui.clients.nvml import NvmlSource
    from tests.test_nvml import GIB, make_fake, proc_info

    fake = make_fake(gpus)
    live = sorted(int(d) for d in os.listdir("/proc") if d.isdigit())
    pids = [live[i % len(live)] for i in range(gpus * procs)]  # distinct live processes per GPU
    for i, gpu in enumerate(fake.gpus):
        gpu.compute = [proc_info(pid, 10 * GIB) for pid in pids[i * procs : (i + 1) * procs]]
    if call_us > 0:
        original = fake._call

        def slow_call(name: str, handle: Any = None) -> Any:
            end = time.perf_counter() + call_us / 1e6
            while time.perf_counter() < end:
                pass
            return original(name, handle)

        fake._call = slow_call  # type: ignore[method-assign]
    return NvmlSource(fake), fake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=300, help="measured snapshots per source (300)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured snapshots first (5)")
    parser.add_argument("--gpus", type=int, default=8, help="fake GPUs (8)")
    parser.add_argument("--procs", type=int, default=2, help="processes per fake GPU (2)")
    parser.add_argument("--call-us", type=float, default=0.0, help="busy-wait per fake NVML call, µs (0)")
    parser.add_argument("--no-real", action="store_true", help="skip the real pynvml run")
    args = parser.parse_args()

    source, fake = fake_source(args.gpus, args.procs, args.call_us)
    with source:
        source.snapshot()
        before = sum(fake.calls.values())
        source.snapshot()
        calls = sum(fake.calls.values()) - before
        wall, cpu_ms, snap = measure(source, args.n, args.warmup)
    print(f"fake pynvml: {args.gpus} GPUs, {args.procs} processes each, "
          f"{calls} NVML calls per snapshot, {args.call_us:g} µs per call added")  # fmt: skip
    report("fake", wall, cpu_ms, f"  ({len(snap.gpus)} GPUs read)")

    if args.no_real:
        return
    from oncall_tui.clients.nvml import NvmlSource

    with NvmlSource() as real:
        available = real.available()
        if not available:
            print(f"real  skipped: {available}")
            return
        wall, cpu_ms, snap = measure(real, args.n, args.warmup)
        names = sorted({str(g.name) for g in snap.gpus})
        print(f"real pynvml: {len(snap.gpus)} GPUs ({', '.join(names)}), driver {snap.driver_version}")
        report("real", wall, cpu_ms)


if __name__ == "__main__":
    main()
