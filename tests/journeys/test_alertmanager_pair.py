"""Two real Alertmanagers in one context (an HA pair or one per region), by keys in a pty: an
alert both hold is one row, each member is its own badge, one member killed is a badge (not an
outage: the alerts stay live), and a silence goes to the member chosen — the first healthy."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.journeys.harness import Terminal
from tests.servers import post_alerts, start_alertmanager, wait_for_silences

pytestmark = pytest.mark.integration

BOTH = {"alertname": "PairBoth", "severity": "critical", "service": "llm-chat"}
ONLY_B = {"alertname": "OnlyOnB", "severity": "warning", "service": "search"}


def test_two_alertmanagers_one_down_is_a_badge_and_silences_go_to_the_healthy_one(tmp_path: Path, realstack: dict[str, str]) -> None:
    a = start_alertmanager(tmp_path / "am-a")
    b = start_alertmanager(tmp_path / "am-b")
    try:
        post_alerts(a.url, [{"labels": BOTH, "annotations": {"summary": "both hold it"}}])
        post_alerts(b.url, [{"labels": BOTH, "annotations": {"summary": "both hold it"}}, {"labels": ONLY_B}])
        config = tmp_path / "config.yaml"
        config.write_text(
            "current_context: pair\ncontexts:\n  pair:\n    endpoints:\n"
            f"      prometheus: {{url: {realstack['prometheus']}, timeout: 5}}\n"
            "      alertmanagers:\n"
            f"        - {{name: am-a, url: {a.url}, timeout: 3}}\n"
            f"        - {{name: am-b, url: {b.url}, timeout: 3}}\n"
        )
        os.chmod(config, 0o600)
        t = Terminal(["--config", str(config), "--refresh", "2"], cols=160, rows=40, env={"XDG_STATE_HOME": str(tmp_path / "state")})
        with t.started("PairBoth", timeout=40):
            screen = t.wait_for(re.compile(r"am-a ok.*am-b ok"))
            t.wait_for("OnlyOnB")
            assert screen.count("PairBoth") == 1, "an alert both members hold is one row"
            t.press("tab", "g", "enter")  # the alert's detail says who holds it
            t.wait_for("held by   am-a, am-b")
            t.press("escape")
            a.kill()
            t.wait_for(re.compile(r"am-a DOWN"), timeout=20)
            screen = t.settle()
            assert re.search(r"am-b ok", screen) and "PairBoth" in screen and "OnlyOnB" in screen
            t.press("S")
            form = t.wait_for("Send to (Alertmanager)")
            assert form.index("am-b") < form.index("am-a") or "am-a" not in form.split("Send to")[1][:80]
            t.type_text("INC-88 pair silence")
            t.press("ctrl+o")
            t.wait_for("Confirm")
            confirm = t.screen()
            assert b.url.split("//")[1] in confirm.replace("\n", "")  # the request goes to am-b
            t.press("tab", "enter")
            made = wait_for_silences(b.url, "INC-88 pair silence")
        assert len(made) == 1
    finally:
        a.kill()
        b.kill()
