"""Faults against real servers while the real ``oncall-tui`` runs in a pty: the measuring part
shared by ``tests/journeys/test_chaos.py`` (asserts) and ``benchmarks/chaos.py`` (prints the table).

For each fault: is the process alive, how long until the faulty backend's badge is not ``ok``,
does the other backend stay fresh, does ``?`` open the help within 200 ms, the app's RSS, how
many requests per second reached the faulty server, and how long until ``ok`` after the fault
ends.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.faultproxy import FaultProxy
from tests.journeys.harness import Terminal
from tests.servers import Server, post_alerts, start_alertmanager, write_config

BACKENDS = ("prometheus", "alertmanager")
REFRESH = 2.0
TIMEOUT = 5.0  # the endpoints' read timeout in the chaos config


def badge_of(header: str, backend: str) -> str:
    """``ok 3s`` / ``DOWN since …`` for ``backend`` from the header line."""
    other = "|".join(b for b in BACKENDS if b != backend)
    m = re.search(rf"\b{backend} (.*?)(?=\s+(?:{other}) |$)", header)
    return m.group(1).strip() if m else ""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Row:
    fault: str
    backend: str
    alive: bool
    badge_after_s: float | None
    badge: str
    other_fresh: bool
    help_ms: float | None
    rss_mb: float
    requests_per_s: float
    recovered_s: float | None
    note: str = ""

    @property
    def green(self) -> bool:
        rule = max(2 * REFRESH, 5.0) + 1.0  # never ok after 2x the interval or 5 s (+1 s to show it)
        return (
            self.alive
            and self.badge_after_s is not None
            and self.badge_after_s <= rule
            and self.other_fresh
            and self.help_ms is not None
            and self.help_ms <= 200
            and self.rss_mb < 400
            and self.requests_per_s <= 5
            and self.recovered_s is not None
            and self.recovered_s <= REFRESH + 3
        )  # a server-requested wait (Retry-After) recovers at ctrl+r: measured from the press


def table(rows: list[Row]) -> str:
    head = "| fault | backend | alive | badge not ok after | badge | other backend fresh | keys answer (help) | RSS | req/s at server | recovered in | |"
    out = [head, "|" + "---|" * 11]
    for r in rows:
        out.append(
            f"| {r.fault} | {r.backend} | {'yes' if r.alive else 'NO'} | "
            f"{'-' if r.badge_after_s is None else f'{r.badge_after_s:.1f} s'} | {r.badge} | "
            f"{'yes' if r.other_fresh else 'NO'} | {'-' if r.help_ms is None else f'{r.help_ms:.0f} ms'} | "
            f"{r.rss_mb:.0f} MB | {r.requests_per_s:.1f} | "
            f"{'-' if r.recovered_s is None else f'{r.recovered_s:.1f} s'}{r.note} | {'green' if r.green else 'RED'} |"
        )
    return "\n".join(out)


class Chaos:
    """The app against a real Prometheus and a real Alertmanager, each behind a fault proxy."""

    def __init__(self, tmp: Path, prometheus_url: str, *, alerts: int = 2) -> None:
        self.am: Server = start_alertmanager(tmp / "am")
        post_alerts(
            self.am.url,
            [{"labels": {"alertname": f"Chaos{i}", "severity": "critical" if i == 0 else "warning", "service": "fraud-scorer", "n": str(i)}} for i in range(alerts)],
        )
        self.proxies = {"prometheus": FaultProxy(prometheus_url), "alertmanager": FaultProxy(self.am.url)}
        config = write_config(tmp / "chaos.yaml", prometheus=self.proxies["prometheus"].url, alertmanager=self.proxies["alertmanager"].url)
        text = config.read_text().replace("timeout: 5", f"timeout: {TIMEOUT:g}")
        config.write_text(text)
        self.term = Terminal(
            ["--config", str(config), "--refresh", f"{REFRESH:g}"], cols=160, rows=40, env={"XDG_STATE_HOME": str(tmp / "state")}
        ).started("alertmanager ok", "prometheus ok", timeout=40)

    def close(self) -> None:
        self.term.close()
        for p in self.proxies.values():
            p.close()
        self.am.kill()

    def badge(self, backend: str) -> str:
        return badge_of(self.term.line(0), backend)

    def wait_badge(self, backend: str, pred: Callable[[str], bool], timeout: float) -> float | None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if pred(self.badge(backend)):
                return time.monotonic() - t0
            time.sleep(0.1)
        return None

    def help_ms(self) -> float | None:
        t = self.term
        t0 = time.monotonic()
        t.press("?", pause=0)
        try:
            t.wait_for("Help", timeout=5)
        except AssertionError:
            return None
        took = (time.monotonic() - t0) * 1000
        t.press("esc")
        t.wait_gone("Help for", timeout=5) if "Help for" in t.screen() else None
        return took

    def fresh(self, backend: str) -> bool:
        m = re.fullmatch(r"ok (\d+)s", self.badge(backend))
        return bool(m) and int(m.group(1)) <= 2 * REFRESH + 1

    def run(self, backend: str, fault: str, *, hold: float = 4.0) -> Row:
        return self._measure(backend, fault, start=lambda: setattr(self.proxies[backend], "fault", fault), end=lambda: setattr(self.proxies[backend], "fault", None), hold=hold)

    def process_fault(self, kind: str, *, hold: float = 4.0) -> Row:
        """``kill`` (then restart) or ``stop`` (SIGSTOP, then SIGCONT) the real Alertmanager."""
        if kind == "kill":
            return self._measure("alertmanager", "killed", start=self.am.kill, end=self.am.start, hold=hold)
        return self._measure("alertmanager", "SIGSTOP", start=self.am.stop_signal, end=self.am.cont, hold=max(hold, TIMEOUT + 1))

    def _measure(self, backend: str, fault: str, *, start: Callable[[], object], end: Callable[[], object], hold: float) -> Row:
        other = next(b for b in BACKENDS if b != backend)
        proxy = self.proxies[backend]
        self.wait_badge(backend, lambda b: b.startswith("ok"), 20)
        t0 = time.monotonic()
        start()
        after = self.wait_badge(backend, lambda b: bool(b) and not b.startswith("ok"), max(2 * REFRESH, 5.0) + TIMEOUT + 3)
        badge = self.badge(backend)
        time.sleep(max(hold - (time.monotonic() - t0), 0))
        other_fresh = self.fresh(other)
        help_ms = self.help_ms()
        rss = rss_mb(self.term.proc.pid)
        rate = proxy.rate(t0)
        end()
        note = ""
        t1 = time.monotonic()
        recovered = self.wait_badge(backend, lambda b: b.startswith("ok"), REFRESH + 4)
        if recovered is None and "RETRYING" in self.badge(backend):
            # the server asked for a long wait: the responder's ctrl+r asks anyway
            t1 = time.monotonic()
            self.term.press("ctrl+r")
            recovered = self.wait_badge(backend, lambda b: b.startswith("ok"), REFRESH + 4)
            note = " after ctrl+r (the server asked for a 5 min wait)"
        if recovered is not None:
            recovered = time.monotonic() - t1
        return Row(fault, backend, self.term.proc.poll() is None, after, badge, other_fresh, help_ms, rss, rate, recovered, note)


@contextmanager
def chaos(tmp: Path, prometheus_url: str) -> Iterator[Chaos]:
    c = Chaos(tmp, prometheus_url)
    try:
        yield c
    finally:
        c.close()
