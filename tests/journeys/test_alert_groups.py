"""5,000 alerts from a real Alertmanager 0.25, grouped (karma's model), by keys in a pty: the
header counts alerts and groups, → expands a group into its alerts, ← collapses it, a filter
applies within the groups, and S on a group silences every member through the common labels."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.journeys.harness import Terminal
from tests.servers import Server, post_alerts, start_alertmanager, wait_for_silences, write_config

pytestmark = pytest.mark.integration

NAMES = [f"Alert{n:02d}" for n in range(40)]
SERVICES = [f"svc-{n:03d}" for n in range(25)]
INSTANCES = 5  # alerts per group: 40 x 25 groups of 5 = 5,000 alerts


@pytest.fixture(scope="module")
def am(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_alertmanager(tmp_path_factory.mktemp("am"))
    alerts = [
        {
            "labels": {
                "alertname": name,
                "service": svc,
                "severity": "critical" if name == "Alert00" else "warning",
                "instance": f"i-{i}",
                "namespace": "ml-serving",
            },
            "annotations": {"summary": f"{name} on {svc} instance i-{i}"},
        }
        for name in NAMES
        for svc in SERVICES
        for i in range(INSTANCES)
    ]
    for start in range(0, len(alerts), 500):
        post_alerts(server.url, alerts[start : start + 500])
    try:
        yield server
    finally:
        server.kill()


def test_five_thousand_alerts_in_groups_by_keys(tmp_path: Path, realstack: dict[str, str], am: Server) -> None:
    config = write_config(tmp_path / "config.yaml", prometheus=realstack["prometheus"], alertmanager=am.url)
    t = Terminal(["--config", str(config), "--refresh", "5"], cols=160, rows=45, env={"XDG_STATE_HOME": str(tmp_path / "state")})
    with t.started("ALERTS", timeout=60):
        # (the realstack Prometheus may add a pending alert of its own: a group of one)
        groups = re.compile(r"5,00\d shown in 1,00\d groups")
        t.wait_for(groups, timeout=60)
        # The worst group first: the critical alert's, one row for its five alerts.
        screen = t.wait_for(re.compile(r"CRIT\s+▸ Alert00 ×5\s+svc-\d{3}"))
        first = re.search(r"▸ Alert00 ×5\s+(svc-\d{3})", screen).group(1)  # type: ignore[union-attr]
        t.press("tab", "g")
        t.press("right")  # expand: its five alerts below it
        expanded = t.wait_until(lambda s: s.count("· Alert00") == INSTANCES, what="five member rows")
        assert "▾ Alert00 ×5" in expanded
        t.press("j", "left")  # on a member, ← closes its group and selects the group row
        t.wait_until(lambda s: "· Alert00" not in s and "▸ Alert00 ×5" in s, what="the group collapsed")
        # A filter applies within: one instance leaves groups of one (plain alert rows).
        t.press("/")
        t.type_text("instance=i-3")
        t.press("enter")
        t.wait_for(re.compile(r"1,00\d shown"))
        t.wait_until(lambda s: "×5" not in s and "i-3" in s, what="one alert per group")
        t.press("escape")
        t.wait_for(groups)
        # S on the group: the form holds the group's common labels; "affects 5".
        t.press("tab", "g", "S")
        form = t.wait_for("Matchers")
        t.wait_for("affects 5 firing alerts")
        matchers_line = next(line for line in form.splitlines() if "alertname=" in line and "Alert00" in line)
        assert f"service={first!r}".replace("'", '"') in matchers_line.replace(" ", "") or first in matchers_line
        assert "instance" not in matchers_line  # not a common label: a group silence leaves it out
        t.type_text("INC-77 group silence")
        t.press("ctrl+o")
        t.wait_for("Confirm")
        t.press("tab", "enter")
        made = wait_for_silences(am.url, "INC-77 group silence")
        assert len(made) == 1
        matchers = {(m["name"], m["value"]) for m in made[0]["matchers"]}
        assert ("alertname", "Alert00") in matchers and ("service", first) in matchers
        assert not any(name == "instance" for name, _ in matchers)
