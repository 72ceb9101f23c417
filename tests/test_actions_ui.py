"""The action UI on the embedded demo: silence form, confirm, ack, silences list, timeline, read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import Button, DataTable, Input

from oncall_tui.clients.prometheus import is_write
from oncall_tui.actions.audit import AuditLog
from oncall_tui.actions.core import Preview
from oncall_tui.app import OncallApp
from oncall_tui.cli import main
from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings
from oncall_tui.screens.actions import (
    READ_ONLY_MESSAGE,
    ConfirmScreen,
    NoteScreen,
    SilenceForm,
)
from oncall_tui.screens.silences import SilencesScreen
from oncall_tui.screens.timeline import TimelineScreen
from oncall_tui.widgets.tables import AlertsTable

from .test_app import T0, Clock, loaded, settings

ALERT = "LLMServerHighErrorRate"


class Recording(httpx.AsyncBaseTransport):
    """Wraps the demo transport and records every request's method and path."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if is_write(*r)]


def make(tmp_path: Path, **kw: Any) -> tuple[OncallApp, Recording]:
    clock = Clock()
    transport = Recording(DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock)))
    app = OncallApp(
        kw.pop("settings", None) or settings(),
        transport=transport,
        clock=clock,
        periodic_refresh=False,
        state_path=tmp_path / "state",
        **kw,
    )
    return app, transport


async def select_alert(app: OncallApp, pilot, name: str = ALERT) -> None:  # type: ignore[no-untyped-def]
    """Select ``name`` as a responder does: ``tab`` to the alerts table, ``j`` down to it."""
    screen = await loaded(app, pilot)
    table = screen.query_one(AlertsTable)
    await pilot.press("tab")
    assert screen.focused is table
    alert = next(a for a in app.incident.last_data.alerts if a.name == name)  # type: ignore[union-attr]
    keys = [str(r.key.value) for r in table.ordered_rows]
    await pilot.press("g", *["j"] * keys.index(alert.fingerprint))
    await pilot.pause()
    assert screen.selected_alert() is not None and screen.selected_alert().name == name


async def settle(app: OncallApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def confirm(pilot) -> None:  # type: ignore[no-untyped-def]
    """Cancel has the focus: move to Confirm and press enter."""
    screen = pilot.app.screen
    assert isinstance(screen, ConfirmScreen)
    assert screen.focused is screen.query_one("#cancel", Button)
    await pilot.press("tab")
    assert screen.focused is screen.query_one("#confirm", Button)
    await pilot.press("enter")
    await pilot.pause()


def state_of(app: OncallApp, name: str = ALERT) -> str:
    return next(a.state for a in app.incident.last_data.alerts if a.name == name)  # type: ignore[union-attr]


# --------------------------------------------------------------------- silence --
async def test_silence_form_confirm_silences_the_demo_alert_and_audits(tmp_path: Path) -> None:
    app, transport = make(tmp_path)
    async with app.run_test(size=(120, 45)) as pilot:
        await select_alert(app, pilot)
        assert state_of(app) == "firing"
        await pilot.press("S")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, SilenceForm)
        matchers = form.query_one("#silence-matchers", Input).value
        assert f'alertname="{ALERT}"' in matchers
        assert "affects 1 firing alert" in str(form.query_one("#silence-affects").render())
        # comment is required: submitting without one shows an error, sends nothing
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SilenceForm)
        assert "comment is required" in str(form.query_one("#silence-error").render())
        assert form.focused is form.query_one("#silence-comment", Input)  # the error leaves the cursor there
        await pilot.press(*"INC-42 rollback")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        preview_text = str(app.screen.query_one("#confirm-preview").render())
        assert "POST" in preview_text and "/api/v2/silences" in preview_text
        assert transport.writes() == []  # nothing sent before the confirmation
        await confirm(pilot)
        await settle(app, pilot)
        assert ("POST", "/api/v2/silences") in transport.writes()
        app.clock.now += 5  # type: ignore[attr-defined]  # the frozen demo clock: let the silence start
        app.refresh_triage()
        await settle(app, pilot)
        assert state_of(app) == "silenced"
    records = AuditLog(tmp_path / "state" / "audit.jsonl").records()
    kinds = [(r["type"], r.get("kind")) for r in records]
    assert ("intent", "silence.create") in kinds
    result = next(r for r in records if r["type"] == "result")
    assert result["ok"] is True and result["silence_id"]
    intent = next(r for r in records if r["type"] == "intent")
    assert intent["preview"]["body"]["comment"] == "INC-42 rollback"


async def test_escape_cancels_confirm_and_sends_nothing(tmp_path: Path) -> None:
    app, transport = make(tmp_path)
    async with app.run_test(size=(120, 45)) as pilot:
        await select_alert(app, pilot)
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # enter on the focused Cancel button
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)
        assert transport.writes() == []


async def test_ack_creates_a_short_silence_then_silences_screen_expires_it(tmp_path: Path) -> None:
    app, transport = make(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await select_alert(app, pilot)
        await pilot.press("A")
        await pilot.pause()
        await confirm(pilot)
        await settle(app, pilot)
        assert transport.writes() == [("POST", "/api/v2/silences")]
        app.clock.now += 5  # type: ignore[attr-defined]  # the frozen demo clock: let the silence start
        am = app.incident.session.alertmanager
        assert am is not None
        acks = [s for s in await am.silences() if s.comment.startswith("ack by ") and s.status.state == "active"]
        assert len(acks) == 1
        ack_id = acks[0].id

        app.run_command(":silences")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SilencesScreen)
        assert ack_id in [s.id for s in screen.silences]
        await pilot.press(*["j"] * [s.id for s in screen.silences].index(ack_id))
        await pilot.press("X")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "DELETE" in str(app.screen.query_one("#confirm-preview").render())
        await confirm(pilot)
        await settle(app, pilot)
        assert ("DELETE", f"/api/v2/silence/{ack_id}") in transport.writes()
        assert ack_id not in [s.id for s in screen.silences]
        assert {s.id: s.status.state for s in await am.silences()}[ack_id] == "expired"
    kinds = [r.get("kind") for r in AuditLog(tmp_path / "state" / "audit.jsonl").records() if r["type"] == "intent"]
    assert kinds == ["silence.ack", "silence.expire"]


async def test_extend_and_expiring_soon_warning(tmp_path: Path) -> None:
    app, transport = make(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await select_alert(app, pilot)
        await pilot.press("A")  # a 15m ack by us: expires within 10 minutes? not yet
        await pilot.pause()
        await confirm(pilot)
        await settle(app, pilot)
        app.clock.now += 6 * 60  # type: ignore[attr-defined]
        await pilot.press("s")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SilencesScreen)
        warning = str(screen.query_one("#silences-warning").render())
        assert "expires in" in warning and not screen.query_one("#silences-warning").has_class("hidden")
        ours = next(i for i, s in enumerate(screen.silences) if s.comment.startswith("ack by "))
        await pilot.press(*["j"] * ours)
        await pilot.press("E")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await confirm(pilot)
        await settle(app, pilot)
        assert transport.writes().count(("POST", "/api/v2/silences")) == 2
    result = [r for r in AuditLog(tmp_path / "state" / "audit.jsonl").records() if r["type"] == "result"][-1]
    assert result["ok"] and result["old_id"] and result["new_id"]


# -------------------------------------------------------------------- read-only --
@pytest.mark.parametrize("how", ["flag", "context"])
async def test_read_only_sends_nothing_and_says_so(tmp_path: Path, how: str) -> None:
    kw: dict[str, Any] = {"read_only": True} if how == "flag" else {"context": "prod-eu"}
    app, transport = make(tmp_path, **kw)
    async with app.run_test(size=(140, 45)) as pilot:
        await select_alert(app, pilot)
        notes: list[str] = []
        real_notify = app.notify

        def spy(message: str, **k: Any) -> None:
            notes.append(str(message))
            real_notify(message, **k)

        app.notify = spy  # type: ignore[method-assign]
        for key in ("S", "A"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, SilenceForm | ConfirmScreen)
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, SilencesScreen)
        await pilot.press("X", "E")
        await settle(app, pilot)
        assert notes.count(READ_ONLY_MESSAGE) == 4
        assert not app.incident.runner.allowed
        assert transport.writes() == []
        # even bypassing the keys, the runner refuses before anything is sent
        from oncall_tui.actions.core import ReadOnlyRefused
        from oncall_tui.actions.silences import ack

        alert = next(a for a in app.incident.last_data.alerts if a.name == ALERT)  # type: ignore[union-attr]
        with pytest.raises(ReadOnlyRefused):
            await ack(app.incident.runner, app.incident.session.alertmanager, alert.labels, user="x")  # type: ignore[arg-type]
        assert transport.writes() == []
    assert not (tmp_path / "state" / "audit.jsonl").exists()


# ---------------------------------------------------------------------- confirm --
async def test_protected_context_needs_the_typed_target(tmp_path: Path) -> None:
    app, _ = make(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        results: list[bool | None] = []
        preview = Preview.http("POST", "http://am/api/v2/silences", {"comment": "[@click=app.quit]x[/]"}, summary="[b]hi[/b]")
        app.push_screen(ConfirmScreen(preview, typed_target="llm-server"), results.append)
        await pilot.pause()
        screen = app.screen
        assert "[@click=app.quit]" in str(screen.query_one("#confirm-preview").render())  # inert text
        button = screen.query_one("#confirm", Button)
        assert button.disabled
        await pilot.press("shift+tab")  # Cancel has focus; one step back is the typed-target input
        assert screen.focused is screen.query_one("#confirm-typed", Input)
        await pilot.press(*"llm-serve")
        assert button.disabled
        await pilot.press("r")
        assert not button.disabled
        await pilot.press("enter")
        await pilot.pause()
        assert results == [True]


# --------------------------------------------------------------------- timeline --
async def test_timeline_notes_alert_changes_and_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app, _ = make(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await select_alert(app, pilot)
        await pilot.press("A")
        await pilot.pause()
        await confirm(pilot)
        await settle(app, pilot)
        app.clock.now += 5  # type: ignore[attr-defined]
        app.refresh_triage()
        await settle(app, pilot)
        await pilot.press("6")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TimelineScreen)
        await pilot.press("N")
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"rolled back to v2.3", "enter")
        await pilot.pause()
        assert app.screen is screen
        texts = [str(row[3]) for row in (screen.query_one(DataTable).get_row_at(i) for i in range(screen.query_one(DataTable).row_count))]
        kinds = [str(row[1]) for row in (screen.query_one(DataTable).get_row_at(i) for i in range(screen.query_one(DataTable).row_count))]
        assert "rolled back to v2.3" in texts
        assert {"alert", "action", "result", "note"} <= set(kinds)
        assert any(t.startswith(f"{ALERT} (critical) started firing") for t in texts)
        assert any(f"{ALERT} silenced" in t for t in texts)
        await pilot.press("e")
        await pilot.pause()
    exported = list(tmp_path.glob("postmortem-demo-*.md"))
    assert len(exported) == 1
    md = exported[0].read_text()
    assert "## Actions taken" in md and "silence.ack" in md and "rolled back to v2.3" in md
    # a restart does not repeat "started firing" for alerts the timeline already knows
    app2, _ = make(tmp_path)
    async with app2.run_test(size=(120, 40)) as pilot:
        await loaded(app2, pilot)
        events = app2.incident.timeline.events()
        assert sum(1 for e in events if e.text.startswith(f"{ALERT} (critical) started firing")) == 1


def test_cli_incident_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    from oncall_tui.actions.timeline import Timeline, TimelineEvent
    from oncall_tui.incident import timeline_path

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    tl = Timeline(timeline_path(tmp_path / "oncall-tui", "demo"))
    at = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    tl.add(TimelineEvent(at=at, kind="action", text="silence.ack X", detail={"action_id": "1", "kind": "silence.ack", "target": "X"}))
    tl.add(TimelineEvent(at=at, kind="result", text="ok", detail={"action_id": "1", "ok": True}))
    tl.add(TimelineEvent(at=at, kind="note", text="[x](http://evil.example)"))
    out = tmp_path / "pm.md"
    assert main(["incident", "export", "--demo", "--output", str(out)]) == 0
    md = out.read_text()
    assert md.startswith("# Postmortem draft: incident in demo") and "silence.ack" in md
    assert "http://evil" not in md
    assert main(["incident", "export", "--context", "demo", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in doc["events"]] == ["action", "result", "note"]


# --------------------------------------------------------------------- snapshot --
def test_timeline_snapshot(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = lambda: T0
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    app = OncallApp(demo_settings().model_copy(update={"identity": "alice"}), transport=transport, clock=clock, periodic_refresh=False, state_path=tmp_path)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.app.first_load.wait()
        await pilot.pause()
        pilot.app.add_note("incident declared; IC: alice")
        await pilot.app.workers.wait_for_complete()  # its Grafana post, so no toast comes later
        await pilot.pause()
        pilot.app.clear_notifications()
        await pilot.press("6")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)


# ------------------------------------------------------------ configured defaults --
def _with_silence_settings(**conf: str) -> Any:
    base = settings()
    data = base.model_dump(exclude_none=True)
    data["silences"] = conf
    for ctx in data["contexts"].values():
        ctx.pop("name", None)
    from oncall_tui.settings import Settings

    return Settings.model_validate(data)


async def test_ack_uses_the_configured_duration_and_comment(tmp_path: Path) -> None:
    app, transport = make(tmp_path, settings=_with_silence_settings(ack_duration="5m", ack_comment="looking - INC-7"))
    async with app.run_test(size=(140, 45)) as pilot:
        await select_alert(app, pilot)
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "Acknowledge (5m silence)" in str(app.screen.query_one("#confirm-title").render())
        await confirm(pilot)
        await settle(app, pilot)
        assert transport.writes() == [("POST", "/api/v2/silences")]
        am = app.incident.session.alertmanager
        assert am is not None
        ours = [s for s in await am.silences() if s.comment == "looking - INC-7"]
        assert len(ours) == 1
        assert abs((ours[0].ends_at - ours[0].starts_at).total_seconds() - 300) < 2


async def test_silence_form_requires_the_configured_ticket_pattern(tmp_path: Path) -> None:
    app, transport = make(tmp_path, settings=_with_silence_settings(ticket_pattern=r"INC-\d+"))
    async with app.run_test(size=(140, 45)) as pilot:
        await select_alert(app, pilot)
        await pilot.press("S")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, SilenceForm)
        await pilot.press(*"rolling back")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SilenceForm)  # refused: no ticket reference
        assert "ticket" in str(form.query_one("#silence-error").render())
        await pilot.press(*" INC-42")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert transport.writes() == []


async def test_app_warns_once_before_our_silence_expires(tmp_path: Path) -> None:
    app, transport = make(tmp_path, settings=_with_silence_settings(expiry_warning="12m"))
    async with app.run_test(size=(140, 45)) as pilot:
        await select_alert(app, pilot)
        await pilot.press("A")  # 15m ack: inside a 12m warning window after 4 minutes
        await pilot.pause()
        await confirm(pilot)
        await settle(app, pilot)
        seen: list[str] = []
        original = app.notify

        def spy(message: str, **kw: Any) -> None:
            seen.append(str(message))
            original(message, **kw)

        app.notify = spy  # type: ignore[method-assign]
        app.clock.now += 2 * 60  # type: ignore[attr-defined]
        app.refresh_triage()
        await settle(app, pilot)
        assert not any("expires in" in m for m in seen)
        app.clock.now += 2 * 60  # type: ignore[attr-defined]
        app.refresh_triage()
        await settle(app, pilot)
        app.refresh_triage()
        await settle(app, pilot)
        warnings = [m for m in seen if "expires in" in m]
        assert len(warnings) == 1 and "alertname=" in warnings[0]


# ------------------------------------------------------- failed writes, interrupted actions --
async def test_a_failed_ack_is_kept_and_retried_from_the_timeline(tmp_path: Path) -> None:
    from oncall_tui.demo.common import ALERTMANAGER_URL
    from oncall_tui.screens.retry import FailedWritesScreen

    app, transport = make(tmp_path)
    demo = transport.inner
    async with app.run_test(size=(140, 45)) as pilot:
        await select_alert(app, pilot)
        demo.set_down(ALERTMANAGER_URL)  # type: ignore[attr-defined]
        await pilot.press("A")
        await pilot.pause()
        await confirm(pilot)
        await settle(app, pilot)
        assert app.incident.audit.failed() and app.incident.audit.failed()[0]["kind"] == "silence.ack"
        demo.set_down(ALERTMANAGER_URL, False)  # type: ignore[attr-defined]
        await pilot.press("6")
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, FailedWritesScreen)
        assert "silence.ack" in str(app.screen.query_one("#retry-list").render_line(0))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "retry" in str(app.screen.query_one("#confirm-preview").render())
        await confirm(pilot)
        await settle(app, pilot)
        assert transport.writes()[-1] == ("POST", "/api/v2/silences")
        assert app.incident.audit.failed() == []  # the retry replaced the failure
        am = app.incident.session.alertmanager
        assert am is not None
        assert any(s.comment.startswith("ack by ") for s in await am.silences())


async def test_dismissing_a_failed_write_stops_listing_it(tmp_path: Path) -> None:
    from oncall_tui.demo.common import ALERTMANAGER_URL
    from oncall_tui.screens.retry import FailedWritesScreen

    app, transport = make(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await select_alert(app, pilot)
        transport.inner.set_down(ALERTMANAGER_URL)  # type: ignore[attr-defined]
        await pilot.press("A")
        await pilot.pause()
        await confirm(pilot)
        await settle(app, pilot)
        app.run_command(":retry")
        await pilot.pause()
        assert isinstance(app.screen, FailedWritesScreen)
        await pilot.press("d")
        await pilot.pause()
        assert app.incident.audit.failed() == []
        assert [w for w in transport.writes() if w[0] == "POST"] == [("POST", "/api/v2/silences")]  # only the failed try


async def test_start_lists_interrupted_actions_and_failed_writes(tmp_path: Path) -> None:
    from oncall_tui.actions.core import ActionRunner

    audit = AuditLog(tmp_path / "state" / "audit.jsonl")
    runner = ActionRunner("demo", read_only=False, protected=False, audit=audit, user="alice")

    async def dropped() -> None:
        raise KeyboardInterrupt  # the outcome is unknown: recorded as interrupted

    with pytest.raises(KeyboardInterrupt):
        await runner.run("rollback", "llm-server", Preview.process(["kubectl", "rollout", "undo"]), dropped)
    app, _ = make(tmp_path)
    seen: list[tuple[str, str]] = []
    original = app.notify

    def spy(message: str, **kw: Any) -> None:
        seen.append((str(kw.get("title", "")), str(message)))
        original(message, **kw)

    app.notify = spy  # type: ignore[method-assign]
    async with app.run_test(size=(140, 45)) as pilot:
        await loaded(app, pilot)
        await pilot.pause()
    titles = [t for t, _ in seen]
    assert "1 interrupted action(s) from an earlier session" in titles
    body = next(m for t, m in seen if t.startswith("1 interrupted"))
    assert "rollback llm-server" in body


async def test_sighup_marks_in_flight_writes_interrupted_and_exits(tmp_path: Path) -> None:
    import signal

    app, _ = make(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await loaded(app, pilot)
        runner = app.incident.runner
        runner.audit.intent("a-1", "silence.create", "alertname=X", Preview(summary="x"), "demo", "alice")
        runner.in_flight["a-1"] = "silence.create"
        app.handle_signal(signal.SIGHUP)
        await pilot.pause()
    assert app.return_code == 128 + signal.SIGHUP
    listed = AuditLog(tmp_path / "state" / "audit.jsonl").interrupted()
    assert [r["id"] for r in listed] == ["a-1"] and "SIGHUP" in listed[0]["reason"]


async def test_timeline_enter_shows_an_event_in_full(tmp_path: Path) -> None:
    from oncall_tui.screens.timeline import EventDetailScreen

    app, _ = make(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await loaded(app, pilot)
        app.add_note("rolling back \x1b]52;c;ZWNobyBwd25lZA==\x07 [/] now")
        await pilot.press("6")
        await settle(app, pilot)
        await pilot.press("G", "enter")
        await pilot.pause()
        assert isinstance(app.screen, EventDetailScreen)
        shown = str(app.screen.query_one("#event-detail").render())
        assert "rolling back \\x1b]52;c;ZWNobyBwd25lZA==\\x07 [/] now" in shown and "\x1b" not in shown
        assert "by: " in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, EventDetailScreen)
