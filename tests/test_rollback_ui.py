"""The one-key rollback (``R``) in the embedded demo: confirm, cancel, dry run, read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import Button

from oncall_tui.actions.audit import AuditLog
from oncall_tui.app import OncallApp
from oncall_tui.core import format as fmt
from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings
from oncall_tui.screens.actions import READ_ONLY_MESSAGE, ConfirmScreen
from oncall_tui.screens.rollback import RollbackConfirmScreen

from .test_actions_ui import ALERT, Recording, confirm, select_alert, settle
from .test_app import T0, Clock

ROLLBACK_PATH = "/api/v1/applications/llm-server/rollback"


def make(tmp_path: Path, **kw: Any) -> tuple[OncallApp, Recording, DemoIncident]:
    clock = Clock()
    incident = DemoIncident(start=T0, offset=900.0, clock=clock)
    transport = Recording(DemoTransport(incident))
    app = OncallApp(
        kw.pop("settings", None) or demo_settings(),
        transport=transport,
        clock=clock,
        periodic_refresh=False,
        state_path=tmp_path / "state",
        **kw,
    )
    return app, transport, incident


def llm_errors(app: OncallApp) -> float:
    row = next(r for r in app.incident.last_data.rows if r.service == "llm-server")  # type: ignore[union-attr]
    value = row.values["errors"]
    assert value is not None
    return value


def spy_notes(app: OncallApp) -> list[str]:
    notes: list[str] = []
    real = app.notify

    def spy(message: str, **k: Any) -> None:
        notes.append(str(message))
        real(message, **k)

    app.notify = spy  # type: ignore[method-assign]
    return notes


async def open_confirm(app: OncallApp, pilot) -> RollbackConfirmScreen:  # type: ignore[no-untyped-def]
    await pilot.press("R")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, RollbackConfirmScreen)
    return screen


async def test_r_shows_request_versions_and_signals_then_rolls_back(tmp_path: Path) -> None:
    app, transport, incident = make(tmp_path)
    async with app.run_test(size=(140, 50)) as pilot:
        await select_alert(app, pilot, ALERT)
        before = llm_errors(app)
        assert before > 0.05
        screen = await open_confirm(app, pilot)
        preview = str(screen.query_one("#confirm-preview").render())
        assert "POST http://demo-argocd" + ROLLBACK_PATH in preview
        assert '"dryRun": false' in preview and '"id": 1' in preview
        facts = str(screen.query_one("#rollback-facts").render())
        assert "v2.4 → v2.3" in facts
        row = next(r for r in app.incident.last_data.rows if r.service == "llm-server")  # type: ignore[union-attr]
        assert f"error rate {fmt.percent(row.values['errors'])}" in facts
        assert f"p99 {fmt.seconds(row.values['latency_p99'])}" in facts
        assert screen.focused is screen.query_one("#cancel", Button)
        assert screen.query_one("#dry-run", Button)  # configured in the demo
        assert transport.writes() == []  # only the version query so far
        assert any(p == "/api/v1/query_range" for _, p in transport.requests)

        # esc cancels: nothing sent, nothing audited
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert transport.writes() == []
        assert AuditLog(tmp_path / "state" / "audit.jsonl").records() == []

        # R again, then Confirm: the rollback request is sent once
        await open_confirm(app, pilot)
        await confirm(pilot)
        await settle(app, pilot)
        # the rollback, then its Grafana annotation (SECURITY R6.6: the timeline sink)
        assert transport.writes() == [("POST", ROLLBACK_PATH), ("POST", "/api/annotations")]
        assert incident.rollback_at("llm-server") is not None
        grafana = app.incident.session.grafana
        assert grafana is not None
        posted = await grafana.annotations(from_ms=0, to_ms=2**62, tags=["rollback"])
        assert any(a.text.startswith("rollback llm-server") and "oncall-tui" in a.tags for a in posted)

        # the timeline has the rollback and its result
        texts = [e.text for e in app.incident.timeline.events()]
        assert "rollback llm-server" in texts
        assert any(t.startswith("rollback llm-server: ok:") and "HTTP 200" in t for t in texts)

        # the demo recovers: two minutes later the error rate is back down
        app.clock.now += 120  # type: ignore[attr-defined]
        app.refresh_triage()
        await settle(app, pilot)
        after = llm_errors(app)
        assert after < 0.01 < before
    records = AuditLog(tmp_path / "state" / "audit.jsonl").records()
    intent = next(r for r in records if r["type"] == "intent")
    assert intent["kind"] == "rollback" and intent["target"] == "llm-server"
    assert intent["preview"]["method"] == "POST" and intent["preview"]["body"]["dryRun"] is False
    assert intent["versions"] == {"current": "v2.4", "target": "v2.3", "source": "version_query"}
    result = next(r for r in records if r["type"] == "result")
    assert result["ok"] is True and result["status"] == 200


async def test_dry_run_button_sends_the_dry_run_and_changes_nothing(tmp_path: Path) -> None:
    app, transport, incident = make(tmp_path)
    async with app.run_test(size=(140, 50)) as pilot:
        await select_alert(app, pilot, ALERT)
        screen = await open_confirm(app, pilot)
        await pilot.click("#dry-run")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert transport.writes() == [("POST", ROLLBACK_PATH)]
        assert incident.rollback_at("llm-server") is None  # a dry run rolls nothing back
        assert screen.offer_dry_run
    records = AuditLog(tmp_path / "state" / "audit.jsonl").records()
    intent = next(r for r in records if r["type"] == "intent")
    assert intent["kind"] == "rollback-dry-run" and intent["preview"]["body"]["dryRun"] is True


async def test_read_only_r_refuses_and_sends_nothing(tmp_path: Path) -> None:
    app, transport, incident = make(tmp_path, read_only=True)
    async with app.run_test(size=(140, 50)) as pilot:
        await select_alert(app, pilot, ALERT)
        notes = spy_notes(app)
        await pilot.press("R")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert notes == [READ_ONLY_MESSAGE]
        assert transport.writes() == []
        assert incident.rollback_at("llm-server") is None
    assert AuditLog(tmp_path / "state" / "audit.jsonl").records() == []


async def test_service_without_rollback_says_so(tmp_path: Path) -> None:
    app, transport, _ = make(tmp_path)
    async with app.run_test(size=(140, 50)) as pilot:
        await select_alert(app, pilot, "FeatureStoreLatencyHigh")
        notes = spy_notes(app)
        await pilot.press("R")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("no rollback is configured for feature-store" in n for n in notes)
        assert transport.writes() == []


async def test_protected_context_requires_typing_the_service(tmp_path: Path) -> None:
    settings = demo_settings()
    settings.context("demo").protected = True
    clock = Clock()
    incident = DemoIncident(start=T0, offset=900.0, clock=clock)
    transport = Recording(DemoTransport(incident))
    app = OncallApp(settings, transport=transport, clock=clock, periodic_refresh=False, state_path=tmp_path / "state")
    async with app.run_test(size=(140, 50)) as pilot:
        await select_alert(app, pilot, ALERT)
        screen = await open_confirm(app, pilot)
        confirm_button = screen.query_one("#confirm", Button)
        assert confirm_button.disabled
        assert screen.focused is screen.query_one("#cancel", Button)
        await pilot.press("shift+tab")  # from Cancel back to the typed-target input
        assert screen.focused is screen.query_one("#confirm-typed")
        await pilot.press(*"llm-serve")
        assert confirm_button.disabled
        await pilot.press("r")
        assert not confirm_button.disabled
        assert transport.writes() == []
        await pilot.press("enter")
        await settle(app, pilot)
        assert transport.writes()[0] == ("POST", ROLLBACK_PATH)


def _with_argv_rollback(argv: list[str]) -> Any:
    from oncall_tui.settings.actions import RollbackConfig

    settings = demo_settings()
    service = next(s for s in settings.context("demo").services if s.name == "llm-server")
    service.rollback = RollbackConfig.model_validate({"argv": argv, "version_query": service.rollback.version_query})  # type: ignore[union-attr]
    return settings


async def test_invalid_placeholder_disables_r_with_the_reason(tmp_path: Path) -> None:
    settings = _with_argv_rollback(["kubectl", "rollout", "undo", "deployment/{labels.deployment}"])
    app, transport, _ = make(tmp_path, settings=settings)
    async with app.run_test(size=(140, 50)) as pilot:
        await select_alert(app, pilot, ALERT)
        notes = spy_notes(app)
        await pilot.press("R")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("{labels.deployment}" in n and "missing" in n for n in notes)
        assert transport.writes() == []
    assert AuditLog(tmp_path / "state" / "audit.jsonl").records() == []


async def test_argv_rollback_runs_the_command_and_its_output_reaches_the_timeline(tmp_path: Path) -> None:
    import sys

    record = tmp_path / "argv.json"
    script = tmp_path / "fake-kubectl"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        "print('deployment.apps/llm-server rolled back \\x1b]52;c;eA==\\x07')\n"
    )
    script.chmod(0o755)
    settings = _with_argv_rollback([str(script), "rollout", "undo", "deployment/{service}", "-n", "{labels.namespace}"])
    app, transport, _ = make(tmp_path, settings=settings)
    async with app.run_test(size=(140, 50)) as pilot:
        await select_alert(app, pilot, ALERT)
        screen = await open_confirm(app, pilot)
        preview = str(screen.query_one("#confirm-preview").render())
        assert '[3] "deployment/llm-server"' in preview and '[5] "ml-serving"' in preview
        assert "v2.4 → v2.3" in str(screen.query_one("#rollback-facts").render())
        await confirm(pilot)
        await settle(app, pilot)
        assert [w for w in transport.writes() if w[1] != "/api/annotations"] == []  # a command, not a request
        assert json.loads(record.read_text()) == ["rollout", "undo", "deployment/llm-server", "-n", "ml-serving"]
        result = app.incident.timeline.events()[-1]
        assert result.kind == "result" and result.text.startswith("rollback llm-server: ok: exit code 0")
        assert "rolled back \\x1b]52;c;eA==\\x07" in result.detail["output"]
