"""Journeys through the demo, by keys only, in a pty (see harness.py).

Before the fixes of issue 12, ``test_tab_then_S_opens_the_silence_form`` and
``test_the_3am_page`` failed at their first ``tab`` (the triage screen bound ``tab`` to a
``focus_next`` action a Screen does not have, so focus never reached the alerts table),
``test_command_line_shows_what_you_type`` found an empty row, and ``test_q_is_back`` quit.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.journeys.harness import Terminal

CRITICAL = "LLMServerHighErrorRate"


def demo(tmp_path: Path, *, cols: int = 120, rows: int = 40, args: tuple[str, ...] = ()) -> Terminal:
    t = Terminal(["--demo", *args], cols=cols, rows=rows, env={"XDG_STATE_HOME": str(tmp_path / "state")}, cwd=tmp_path)
    return t.started(re.compile(r"CRIT\s+LLMServer"))


def key_line(t: Terminal) -> str:
    return t.line(t.rows - 1)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_tab_then_S_opens_the_silence_form(tmp_path: Path, size: tuple[int, int]) -> None:
    with demo(tmp_path, cols=size[0], rows=size[1]) as t:
        assert "Detail" in key_line(t) and "Silence" not in key_line(t)  # signals: enter l x u R
        t.press("tab")
        t.wait_until(lambda s: " S Silence" in s.splitlines()[-1], what="the alerts table's keys in the key line")
        t.press("S")
        screen = t.wait_for("Matchers")
        assert "Silence LLMServerHigh" in screen.replace("\n", " ")
        assert "select an alert first" not in screen


def test_the_3am_page(tmp_path: Path) -> None:
    """Worst service first, the critical alert on top; every drill-down key from that alert
    opens its screen and esc comes back to the triage with the alert still selected."""
    with demo(tmp_path, cols=160, rows=45) as t:
        lines = t.screen().splitlines()
        first_service = lines[2].split()[0]
        assert first_service == "llm-server"  # 11 % errors: worst first
        t.press("tab")
        t.wait_until(lambda s: "S Silence" in s.splitlines()[-1])
        row = next(line for line in t.screen().splitlines() if CRITICAL in line)
        assert row.split()[0] == "CRIT"
        assert f"{CRITICAL}" in row  # the whole name, not cut at 25 columns
        # enter: the alert in full (labels, annotations, absolute start), esc back
        t.press("enter")
        detail = t.wait_for("Annotations")
        assert "Labels" in detail and re.search(r"started\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+m ago\)", detail), detail
        assert "severity" in detail and "llm-server" in detail
        t.press("esc")
        t.wait_gone("Annotations")
        for key, marker in (("l", "LogQL"), ("x", "TRACES"), ("u", "GPU"), ("b", "RUNBOOK")):
            t.press(key)
            t.wait_until(lambda s, m=marker: m.lower() in s.lower() and "ALERTS:" not in s, timeout=20, what=f"{key} screen")
            t.press("esc")
            t.wait_for("ALERTS:", timeout=10)
            t.settle()
            assert "S Silence" in key_line(t), f"focus left the alerts table after {key}"
        t.press("S")
        assert f"Silence {CRITICAL}" in t.wait_for("Matchers")


def test_command_line_shows_what_you_type(tmp_path: Path) -> None:
    with demo(tmp_path) as t:
        t.press(":")
        t.type_text("svc feature-store")
        t.wait_for(":svc feature-store")
        t.press("enter")
        t.wait_until(lambda s: "feature-store" in s.splitlines()[0] or "feature-store" in s.splitlines()[1], what="the service detail")


def test_q_is_back_from_silences_and_timeline(tmp_path: Path) -> None:
    with demo(tmp_path) as t:
        t.press("s")
        t.wait_for("SILENCES in demo")
        t.press("q")
        t.wait_for("ALERTS:")
        t.press("6")
        t.wait_for("TIMELINE of demo")
        t.press("q")
        t.wait_for("ALERTS:")
        assert t.proc.poll() is None


def test_alerts_column_is_a_count(tmp_path: Path) -> None:
    with demo(tmp_path, cols=160, rows=45) as t:
        row = next(line for line in t.screen().splitlines() if line.split()[:1] == ["llm-server"])
        # llm-server has one firing alert (the critical); the warning is inhibited
        assert row.split()[-1] == "1", row


def test_timeline_onset_is_the_servers_start_time(tmp_path: Path) -> None:
    with demo(tmp_path, cols=160, rows=45) as t:
        t.press("6")
        screen = t.wait_for(f"{CRITICAL} (critical) started firing")
        row = next(line for line in screen.splitlines() if f"{CRITICAL} (critical) started firing" in line)
        started = re.search(r"\d\d:\d\d:\d\d", row).group(0)  # type: ignore[union-attr]
        header_now = re.search(r"(\d\d:\d\d:\d\d)", t.line(0))
        # the demo's critical alert has been firing ~12 minutes before the app started
        assert started != (header_now.group(1) if header_now else None)
        rows = [line for line in screen.splitlines() if re.match(r"\s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line)]
        assert rows == sorted(rows)


def test_80x24_silence_form_and_confirmation_show_what_matters(tmp_path: Path) -> None:
    with demo(tmp_path, cols=80, rows=24) as t:
        t.press("tab", "S")
        musts = ('alertname="LLMServerHighErrorRate"', "affects 1 firing alert", "Comment", "Preview & confirm", "Cancel")
        t.wait_until(lambda s: all(m in s for m in musts), what=f"all of {musts} on one 80x24 screen")
        t.type_text("INC-7 80 columns")
        t.press("ctrl+o")
        t.wait_until(lambda s: all(m in s for m in ("this request will be sent", "Confirm", "Cancel", "POST")), what="preview and buttons")
        t.press("esc")
        t.wait_gone("this request will be sent")


def test_80x24_rollback_confirmation_shows_its_buttons(tmp_path: Path) -> None:
    with demo(tmp_path, cols=80, rows=24) as t:
        t.press("R")  # the signals table has focus: the worst service, llm-server
        t.wait_until(lambda s: all(m in s for m in ("llm-server", "Confirm", "Cancel")) and re.search(r"roll ?back", s, re.I), what="rollback confirmation with its buttons")
        t.press("esc")


def test_service_detail_keys_act_or_say_why(tmp_path: Path) -> None:
    with demo(tmp_path, cols=120, rows=40) as t:
        t.press("enter")  # the signals table has focus: llm-server's charts
        t.wait_for("Traffic (req/s)")
        live = t.line(0)
        t.press("[")
        t.wait_until(lambda s: s.splitlines()[0] != live, what="the header's range to pan")
        t.press("0")
        t.wait_until(lambda s: s.splitlines()[0].split("every")[0] == live.split("every")[0], what="back to live")
        t.press("S")
        t.wait_for("acts on an alert")
        t.press("R")
        t.wait_until(lambda s: "Confirm" in s and "Cancel" in s, what="the rollback confirmation")
        t.press("esc")
        t.wait_gone("Confirm")
        t.press("esc")
        t.wait_for("ALERTS:")


def test_logs_and_waterfall_keys(tmp_path: Path) -> None:
    """Every key the README lists for the logs screen and the waterfall, pressed in a pty."""
    with demo(tmp_path, cols=140, rows=40) as t:
        t.press("tab", "l")
        t.wait_for('LogQL {service="llm-server"', timeout=20)
        t.wait_for(re.compile(r"loki ok \d+s\s+[\d,]+ lines"))
        t.settle()
        t.press("enter")  # the line's fields
        t.wait_for(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC"))
        t.press("esc", "p")  # patterns
        t.wait_for(re.compile(r"\d+ patterns in [\d,]+ lines"))
        t.press("p", "f")  # follow
        t.wait_for("following")
        t.press("f", "o")  # older lines
        t.wait_for(re.compile(r"loaded [\d,]+ older lines"))
        t.press("/")  # filter, pushed into the LogQL on enter
        t.type_text("OOM")
        t.press("enter")
        t.wait_for('|= "OOM"')
        t.press("t")  # the line's trace
        screen = t.wait_for(re.compile(r"^ \d+ spans ", re.M), timeout=20)
        trace_id = re.search(r"trace ([0-9a-f]{32})", screen).group(1)  # type: ignore[union-attr]
        folded = re.compile(r"^ \d+ of \d+ spans", re.M)
        for _ in range(6):  # collapse: left climbs from the line's span to its parents, folding them
            t.press("left")
            if folded.search(t.settle(0.3)):
                break
        t.wait_for(folded)
        t.press("right")  # expand
        t.wait_for(re.compile(r"^ \d+ spans ", re.M))
        t.press("p")  # one level in
        t.wait_for(re.compile(r"^ \d+ of \d+ spans", re.M))
        t.press("o")  # one level out
        t.wait_for(re.compile(r"^ \d+ spans ", re.M))
        t.press("enter")  # span detail
        t.wait_for("resource")
        t.press("esc", "L")  # the trace's logs: by trace_id metadata where the stream has it
        t.wait_for(re.compile(rf'(\| trace_id="{trace_id}"|\|= "{trace_id}")'), timeout=20)
        t.press("esc")
        t.wait_for(re.compile(r"^ \d+ spans ", re.M))
        t.press("esc", "esc")
        t.wait_for("ALERTS:", timeout=10)


def test_commands_palette_filter_help_and_pause(tmp_path: Path) -> None:
    with demo(tmp_path, cols=140, rows=40) as t:
        for command, marker in ((":svc feature-store", "feature-store · "), (":silences", "SILENCES in demo"), (":timeline", "TIMELINE of demo"), (":logs", "LogQL"), (":gpu", "GPU")):
            t.press(":")
            t.type_text(command[1:])
            t.press("enter")
            t.wait_for(marker, timeout=20)
            t.press("esc")
            t.wait_for("ALERTS:", timeout=10)
            t.settle()
        t.press(":")
        t.type_text("theme oncall-light")
        t.press("enter")
        t.settle()
        assert t.proc.poll() is None
        t.press("ctrl+p")  # the palette: jump to an alert by name
        t.wait_for("Search for commands")
        t.type_text("FeatureStoreLatency")
        t.press("enter")
        t.wait_for("ALERTS for feature-store", timeout=10)
        t.press("esc")
        t.press("tab", "/")
        t.type_text("!Latency")
        t.press("enter")
        screen = t.wait_for("filter '!Latency'")
        assert "LLMServerHighErrorRate" in screen and "FeatureStoreLatencyHigh" not in screen
        t.press("esc")
        t.press("?")
        t.wait_for("Help")
        t.press("esc")
        t.press("Z")
        t.wait_for("PAUSED")
        t.press("Z")
        t.wait_gone("PAUSED")
        t.press(":")
        t.type_text("q")
        t.press("enter")
        t.proc.wait(timeout=10)
