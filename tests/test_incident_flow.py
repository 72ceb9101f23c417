"""A whole incident in the demo, key by key: ack, runbook step, rollback, note, export.

Also the read-only guarantee across every write path at once: with ``--readonly`` no
POST/PUT/PATCH/DELETE leaves the app and no process is started, whatever the responder presses.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from oncall_tui.clients.prometheus import is_write
from oncall_tui.screens.actions import ConfirmScreen, NoteScreen
from oncall_tui.screens.rollback import RollbackConfirmScreen
from oncall_tui.screens.runbook import RunbookScreen

from .test_actions_ui import ALERT, confirm, select_alert, settle
from .test_rollback_ui import make


async def test_incident_flow_ends_in_a_postmortem_draft(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snapshot: Any) -> None:
    monkeypatch.chdir(tmp_path)
    app, transport, incident = make(tmp_path)
    async with app.run_test(size=(140, 50)) as pilot:
        await select_alert(app, pilot, ALERT)
        # ack
        await pilot.press("A")
        await pilot.pause()
        await confirm(pilot)
        await settle(app, pilot)
        # the runbook's first step (a read-only PromQL query)
        await pilot.press("b")
        await settle(app, pilot)
        assert isinstance(app.screen, RunbookScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        # roll back llm-server
        app.clock.now += 60  # type: ignore[attr-defined]
        await pilot.press("R")
        await settle(app, pilot)
        assert isinstance(app.screen, RollbackConfirmScreen)
        await confirm(pilot)
        await settle(app, pilot)
        assert incident.rollback_at("llm-server") is not None
        # a note, then the timeline's export
        app.clock.now += 60  # type: ignore[attr-defined]
        await pilot.press("N")
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"INC-4711 mitigated by rollback", "enter")
        await settle(app, pilot)
        await pilot.press("6")
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
    exported = list(tmp_path.glob("postmortem-demo-*.md"))
    assert len(exported) == 1
    md = exported[0].read_text()
    # what a responder needs to find in it, then the whole draft as reviewed
    assert f"| silence.ack | {ALERT} | ok" in md
    assert "| rollback | llm-server | ok" in md
    assert "INC-4711 mitigated by rollback" in md
    assert "## Runbook steps and checks" in md and "http\\_requests\\_total" in md
    # the demo Alertmanager's silence ids are random and the OS user differs between machines
    md = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<silence-id>", md)
    md = md.replace(f"silenced by {getpass.getuser()} ", "silenced by <user> ")
    md = md.replace(f" | {getpass.getuser()} | ", " | <user> | ")
    assert md == snapshot


def _spy_processes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    started: list[Any] = []

    async def no_exec(*args: Any, **kw: Any) -> Any:
        started.append(args)
        raise AssertionError(f"a process was started in read-only mode: {args!r}")

    def no_popen(*args: Any, **kw: Any) -> Any:
        started.append(args)
        raise AssertionError(f"a process was started in read-only mode: {args!r}")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", no_exec)
    monkeypatch.setattr(asyncio, "create_subprocess_shell", no_exec)
    monkeypatch.setattr(subprocess, "Popen", no_popen)
    return started


async def test_read_only_every_write_key_sends_nothing_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _spy_processes(monkeypatch)
    app, transport, incident = make(tmp_path, read_only=True)
    async with app.run_test(size=(140, 50)) as pilot:
        await select_alert(app, pilot, ALERT)
        for key in ("S", "A", "R"):  # silence, ack, rollback: refused before any form or request
            await pilot.press(key)
            await settle(app, pilot)
            assert not isinstance(app.screen, (ConfirmScreen, RollbackConfirmScreen)), key
        # a note stays local: nothing is posted to Grafana
        await pilot.press("N")
        await pilot.pause()
        await pilot.press(*"looking", "enter")
        await settle(app, pilot)
        # the runbook: its shell step cannot run; its queries (reads) may
        await pilot.press("b")
        await settle(app, pilot)
        assert isinstance(app.screen, RunbookScreen)
        for _ in range(8):
            await pilot.press("n", "enter")
            await settle(app, pilot)
            if isinstance(app.screen, ConfirmScreen):
                await confirm(pilot)
                await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        # the silences view: expire and extend are refused
        await pilot.press("s")
        await settle(app, pilot)
        for key in ("X", "E"):
            await pilot.press(key)
            await settle(app, pilot)
            assert not isinstance(app.screen, ConfirmScreen), key
        await pilot.press("escape")
        await settle(app, pilot)
        # retrying failed writes is a write too
        app.run_command(":retry")
        await settle(app, pilot)
    writes = [r for r in transport.requests if is_write(*r)]
    assert writes == []
    assert started == []
    assert incident.rollback_at("llm-server") is None
    assert [e.text for e in app.incident.timeline.events() if e.kind == "note"] == ["looking"]
