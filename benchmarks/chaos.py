"""Faults against real servers while the real oncall-tui runs in a pty; prints the table.

    .venv/bin/python benchmarks/chaos.py              # every fault, both backends (~6 min)
    .venv/bin/python benchmarks/chaos.py --quick      # a few

Needs the Debian packages prometheus and prometheus-alertmanager and ../shared/realstack's
Prometheus (started if it is not running). Each row: fault x backend -> process alive, seconds
until the faulty backend's badge is not "ok" (rule: within 2x the refresh interval or 5 s,
whichever is longer, +1 s for the display tick), the other backend still fresh, "?" answered
(help open) in ms, RSS, requests per second that reached the faulty server, seconds until "ok"
once the fault ends. See tests/chaos.py.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.chaos import chaos, table  # noqa: E402
from tests.conftest import PROM_URL, REALSTACK, _ready  # noqa: E402
from tests.faultproxy import FAULTS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few faults only")
    args = parser.parse_args()
    if not _ready(PROM_URL):
        subprocess.run([str(REALSTACK / "start.sh")], check=True)
    faults = ["500", "hang", "503-retry-after-86400", "malformed"] if args.quick else list(FAULTS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, chaos(Path(tmp), PROM_URL) as c:
        for kind in ("kill", "stop"):
            rows.append(c.process_fault(kind))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
        for backend in ("alertmanager", "prometheus"):
            for fault in faults:
                rows.append(c.run(backend, fault))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))
    red = [r for r in rows if not r.green]
    print(f"\n{len(rows) - len(red)}/{len(rows)} rows green")
    return 1 if red else 0


if __name__ == "__main__":
    raise SystemExit(main())
