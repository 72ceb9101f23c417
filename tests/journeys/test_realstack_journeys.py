"""Write journeys by keys only against real servers: the shared realstack's Prometheus for the
signals and an Alertmanager 0.25 of the test's own (so the silences these journeys create never
leak into other tests), holding the realstack's critical alert."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.journeys.harness import Terminal
from tests.servers import Server, post_alerts, silences, start_alertmanager, write_config

pytestmark = pytest.mark.integration

ALERT = "ModelServingHighErrorRate"
LABELS = {"alertname": ALERT, "severity": "critical", "service": "fraud-scorer", "namespace": "ml-serving"}


@pytest.fixture()
def am(tmp_path: Path) -> Iterator[Server]:
    server = start_alertmanager(tmp_path / "am")
    post_alerts(server.url, [{"labels": LABELS, "annotations": {"summary": "fraud-scorer is failing 8 % of requests"}}])
    post_alerts(server.url, [{"labels": {**LABELS, "alertname": "Other", "severity": "warning"}}])
    try:
        yield server
    finally:
        server.kill()


def app(tmp_path: Path, realstack: dict[str, str], am: Server, *args: str, keymap: str = "") -> Terminal:
    config = write_config(tmp_path / "config.yaml", prometheus=realstack["prometheus"], alertmanager=am.url)
    if keymap:
        config.write_text(config.read_text() + f"keymap:\n{keymap}")
    t = Terminal(["--config", str(config), "--refresh", "3", *args], cols=160, rows=45, env={"XDG_STATE_HOME": str(tmp_path / "state")})
    return t.started(ALERT, timeout=40)


def active(am: Server) -> list[dict]:
    return [s for s in silences(am.url) if s["status"]["state"] == "active"]


def wait_server(predicate, what: str, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"the server never showed {what}")


def test_ack_silence_extend_expire_by_keys(tmp_path: Path, realstack: dict[str, str], am: Server) -> None:
    with app(tmp_path, realstack, am) as t:
        # tab, A, tab, enter: the critical alert is acked (a silence on the server)
        t.press("tab", "A")
        t.wait_for("Confirm")
        t.press("tab", "enter")
        [ack] = wait_server(lambda: active(am), "the ack's silence")
        assert {(m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in ack["matchers"]} >= {("alertname", ALERT, True, False)}
        assert all(not m["isRegex"] for m in ack["matchers"])
        # S: the form, a comment, ctrl+o to preview, tab+enter to confirm -> exactly one more
        # "/" filters the focused (alerts) table by label; enter keeps the filter
        t.press("/")
        t.type_text("alertname=Other")
        t.press("enter")
        t.wait_for("filter 'alertname=Other'")
        t.press("S")
        t.wait_for("Matchers")
        t.type_text("INC-42 journey silence")
        t.press("ctrl+o")
        t.wait_for("Confirm")
        t.press("tab", "enter")
        made = wait_server(lambda: [s for s in active(am) if s["comment"] == "INC-42 journey silence"], "the new silence")
        assert len(made) == 1
        wanted = {(k, v) for k, v in {**LABELS, "alertname": "Other", "severity": "warning"}.items()}
        assert {(m["name"], m["value"]) for m in made[0]["matchers"]} == wanted
        assert len(active(am)) == 2
        # s: the silences view; E extends (confirm), X expires (confirm) on the server
        t.press("s")
        t.wait_for("SILENCES in private")
        t.settle()
        before = {s["id"]: s["endsAt"] for s in active(am)}
        t.press("E")
        t.wait_for("Confirm")
        t.press("tab", "enter")
        wait_server(lambda: {s["id"]: s["endsAt"] for s in active(am)} != before, "an extended silence")
        t.settle()
        count = len(active(am))
        t.press("X")
        t.wait_for("Confirm")
        t.press("tab", "enter")
        wait_server(lambda: len(active(am)) == count - 1, "an expired silence")


def test_read_only_refuses_every_write_key(tmp_path: Path, realstack: dict[str, str], am: Server) -> None:
    with app(tmp_path, realstack, am, "--readonly", keymap="  pause: p\n") as t:
        assert "READ-ONLY" in t.line(0)
        # a key remapped in the config: p pauses, Z no longer does
        t.press("Z")
        assert "PAUSED" not in t.settle()
        t.press("p")
        t.wait_for("PAUSED")
        t.press("p")
        t.wait_gone("PAUSED")
        t.press("tab")
        for key in ("S", "A", "R", "N"):
            t.press(key)
            screen = t.settle()
            assert "Confirm" not in screen and "Matchers" not in screen, key
            assert "read-only" in screen.lower(), key
            t.press("esc")
        t.press(":")
        t.type_text("retry")
        t.press("enter")
        t.settle()
    assert silences(am.url) == []


def test_the_commanders_app_shows_the_responders_ack_within_one_refresh(tmp_path: Path, realstack: dict[str, str], am: Server) -> None:
    """Two ``oncall-tui`` on one host and context: the responder acks by keys; the incident
    commander's read-only app, already on its timeline, shows the ack and who did it without a
    restart (a refresh is 3 s here)."""

    def start(who: str, *args: str) -> Terminal:
        config = write_config(tmp_path / f"{who}.yaml", prometheus=realstack["prometheus"], alertmanager=am.url)
        config.write_text(f"identity: {who}\n" + config.read_text())
        env = {"XDG_STATE_HOME": str(tmp_path / "state")}  # one host, one state dir
        return Terminal(["--config", str(config), "--refresh", "3", *args], cols=160, rows=45, env=env).started(ALERT, timeout=40)

    with start("alice") as responder, start("ic-bob", "--readonly") as commander:
        commander.press("6")
        commander.wait_for("TIMELINE of")
        assert "silence.ack" not in commander.screen()
        responder.press("tab", "A")
        responder.wait_for("Confirm")
        responder.press("tab", "enter")
        wait_server(lambda: active(am), "the ack's silence")
        started = time.monotonic()
        screen = commander.wait_for(f"silence.ack {ALERT}: ok", timeout=10)
        assert time.monotonic() - started < 7  # one refresh (3 s) and its paint
        row = next(line for line in screen.splitlines() if f"silence.ack {ALERT}: ok" in line)
        assert "result" in row and " alice " in row
        # a note changes no alert: only the shared timeline can bring it to the commander
        responder.press("N")
        responder.wait_for("Add a note")
        responder.type_text("INC-42 paged the model owners")
        responder.press("enter")
        started = time.monotonic()
        screen = commander.wait_for("INC-42 paged the model owners", timeout=10)
        assert time.monotonic() - started < 7
        row = next(line for line in screen.splitlines() if "INC-42 paged" in line)
        assert "note" in row and " alice " in row
