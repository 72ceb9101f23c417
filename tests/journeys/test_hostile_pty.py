"""SECURITY.md's hostile inputs through real servers into every table, read from the pty bytes.

The inputs travel as a person's data would: label values and annotations posted to a real
Alertmanager 0.25, series scraped by a real Prometheus 2.42 from an exporter serving them, a
silence created with a hostile ``createdBy`` and comment. The installed ``oncall-tui`` runs
against them in a pty, keys walk every row of the signals, alerts, silences and timeline
tables and an event's detail, and every byte the app wrote is scanned: only SGR, cursor
positioning and Textual's own mode sequences may appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.journeys.harness import Terminal
from tests.test_sanitize_redact import HOSTILE as ESCAPES
from tests.servers import Exporter, exposition, post_alerts, start_alertmanager, start_prometheus, write_config

pytestmark = pytest.mark.integration

#: SECURITY.md "Hostile inputs" 1-22 that a label value can carry (valid UTF-8 only: both
#: servers reject anything else): the escape sequences of test_sanitize_redact, plus markup,
#: shell, newline, template and invisible-character inputs.
HOSTILE = [
    *ESCAPES,
    "\u009b31mC1 CSI",
    "x [/] y",
    "[/bold]",
    "[@click=app.quit]Acknowledge[/]",
    "[$error]FAKE CRITICAL[/]",
    "[ bold ]x",
    "level=[error] disk full",
    "C:\\temp\\",
    "web-1\nrm -rf ~",
    "{{ 7*7 }}",
    "ab\u200bc\u202edcba",
]
HUGE = "S" * 100_000

#: What Textual itself writes (measured on the demo): SGR, cursor position, private modes,
#: mode queries, the kitty keyboard protocol and the pointer-shape OSC 22.
ALLOWED = re.compile(
    rb"\x1b\[[0-9;]*m"
    rb"|\x1b\[\d+;\d+H"
    rb"|\x1b\[\?\d+[hl]"
    rb"|\x1b\[\?\d+\$p"
    rb"|\x1b\[>\d+u|\x1b\[<u"
    rb"|\x1b\]22;[a-z-]+\x07"
)


def forbidden_sequences(raw: bytes) -> list[bytes]:
    """Every escape sequence or control byte in ``raw`` that Textual's own output never has."""
    rest = ALLOWED.sub(b"", raw).replace(b"\r\n", b"")
    found = [m.group(0)[:24] for m in re.finditer(rb"\x1b.{0,12}", rest, re.S)]
    found += [bytes([c]) for c in rest if c < 0x20 and c not in (0x0A,)]
    found += re.findall(rb"\xc2[\x80-\x9f]", rest)  # C1 controls, UTF-8 encoded
    return found


@pytest.fixture(scope="module")
def hostile_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("hostile")
    series = []
    for i, h in enumerate([*HOSTILE, HUGE, "normal-svc"]):
        labels = {"service": h, "pod": f"pod-{i}"}
        series.append(("http_requests_total", {**labels, "code": "200"}, 100 + i))
        series.append(("http_requests_total", {**labels, "code": "500"}, 1 + i))
        series.append(("http_requests_in_flight", labels, float("-inf") if h == "normal-svc" else i))
    text = exposition(series).replace(b"-inf", b"-Inf")
    exporter = Exporter(text)
    prom = start_prometheus(tmp / "prom", [exporter.address])
    am = start_alertmanager(tmp / "am")
    alerts = []
    n = len(HOSTILE)
    for i, h in enumerate(HOSTILE):
        alerts.append(
            {
                "labels": {"alertname": h, "severity": HOSTILE[(i + 1) % n], "service": HOSTILE[(i + 2) % n], "n": str(i)},
                "annotations": {"summary": HOSTILE[(i + 3) % n], "description": h, "runbook_url": HOSTILE[(i + 4) % n]},
            }
        )
    alerts.append({"labels": {"alertname": "HugeLabels", "severity": "critical", "service": HUGE}, "annotations": {"summary": HUGE}})
    post_alerts(am.url, alerts)
    now = datetime.now(UTC)
    for i, h in enumerate(HOSTILE[:6]):
        httpx.post(
            f"{am.url}/api/v2/silences",
            json={
                "matchers": [{"name": "n", "value": str(i), "isRegex": False, "isEqual": True}],
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(hours=1)).isoformat(),
                "createdBy": h,
                "comment": HOSTILE[-1 - i],
            },
            timeout=10,
        ).raise_for_status()
    # Wait until Prometheus has scraped the exporter twice (rates need two samples).
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while datetime.now(UTC) < deadline:
        r = httpx.post(f"{prom.url}/api/v1/query", data={"query": "count(rate(http_requests_total[1m]) > 0)"}, timeout=5).json()
        if r["data"]["result"]:
            break
    try:
        yield {"prometheus": prom.url, "alertmanager": am.url, "tmp": str(tmp)}
    finally:
        am.kill()
        prom.kill()
        exporter.close()


def run_app(stack: dict[str, str], tmp: Path, *, cols: int = 200, rows: int = 60) -> Terminal:
    config = write_config(tmp / "config.yaml", prometheus=stack["prometheus"], alertmanager=stack["alertmanager"])
    return Terminal(["--config", str(config), "--refresh", "3"], cols=cols, rows=rows, env={"XDG_STATE_HOME": str(tmp / "state")})


def test_every_table_shows_hostile_text_inert(hostile_stack: dict[str, str], tmp_path: Path) -> None:
    with run_app(hostile_stack, tmp_path) as t:
        t.wait_for("\\x1b(0lqqk", timeout=40)  # a hostile service, made visible
        t.wait_for(re.compile(r"ALERTS: \d+ firing"), timeout=20)
        t.settle()
        # every row of the signals table, then of the alerts table
        t.press(*["j"] * 40)
        screen = t.wait_for("normal-svc", timeout=40)
        row = next(line for line in screen.splitlines() if "normal-svc" in line)
        assert "-Inf" in row  # a -Inf sample is a value, not a crash
        t.press("tab", *["j"] * (len(HOSTILE) + 3))
        screen = t.settle()
        assert "\\X1B" in screen  # the SEV column: the label made visible, then cut
        # the silences view (createdBy and comment of every silence) and back
        t.press("s")
        t.wait_for("SILENCES in private")
        t.press(*["j"] * 8)
        t.settle()
        t.press("esc")
        # the timeline (an event per alert that started firing), an event's detail
        t.press("6")
        t.wait_for("TIMELINE of private")
        t.press(*["k"] * (len(HOSTILE) + 3))
        t.press("enter")
        t.settle()
        t.press("esc", "1")
        t.settle()
        # the app still answers keys
        t.press("?")
        t.wait_for("Help")
        assert t.proc.poll() is None
    bad = forbidden_sequences(bytes(t.raw))
    assert bad == [], f"{len(bad)} escape sequences or control bytes reached the terminal: {sorted(set(bad))[:20]}"
    assert b"\x1b]52;c;ZWNobyBwd25lZA" not in t.raw


def test_a_100kb_service_label_does_not_blank_the_others(hostile_stack: dict[str, str], tmp_path: Path) -> None:
    """The batched PromQL goes as a POST body and the 100 KB value is not queried: every other
    service keeps its signals; the 100 KB alert is cut with a marker and keys still answer."""
    with run_app(hostile_stack, tmp_path, cols=160, rows=45) as t:
        t.wait_for("\\x1b(0lqqk", timeout=40)
        t.press("G")
        screen = t.wait_for("normal-svc", timeout=40)
        row = next(line for line in screen.splitlines() if "normal-svc" in line)
        assert re.search(r"\d", row.split("normal-svc", 1)[1]), row  # values, not blanks
        t.press("tab")
        t.press("?")
        t.wait_for("Help", timeout=5)
        assert t.proc.poll() is None
