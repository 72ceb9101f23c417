"""The runbook screen on the embedded demo: ``b`` → local runbook → query step → shell step → back."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from textual.widgets import Button, Static

from oncall_tui.actions.audit import AuditLog
from oncall_tui.app import OncallApp
from oncall_tui.clients.runbook import RunbookFetcher
from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings
from oncall_tui.demo.config import DEMO_RUNBOOKS
from oncall_tui.screens.actions import ConfirmScreen
from oncall_tui.screens.runbook import RunbookScreen, open_runbook
from oncall_tui.screens.triage import TriageScreen
from oncall_tui.settings import Settings
from oncall_tui.settings.actions import RunbookSettings

from .test_actions_ui import select_alert
from .test_app import T0, Clock

ALERT = "LLMServerHighErrorRate"


def make(tmp_path: Path, settings: Settings | None = None, **kw: Any) -> OncallApp:
    clock = Clock()
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    return OncallApp(
        settings or demo_settings(),
        transport=transport,
        clock=clock,
        periodic_refresh=False,
        state_path=tmp_path / "state",
        **kw,
    )


async def settle(app: OncallApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


def shown(widget: Static) -> str:
    """What the widget shows, as plain text (its content rendered wide, without colours)."""
    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=500, record=True, color_system=None, force_terminal=False, file=io.StringIO())
    console.print(content)
    return console.export_text()


def runbook_texts(screen: RunbookScreen) -> str:
    return "\n".join(shown(w) for w in screen.query(Static))


async def open_via_b(app: OncallApp, pilot, name: str = ALERT) -> RunbookScreen:  # type: ignore[no-untyped-def]
    await select_alert(app, pilot, name)
    await pilot.press("b")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, RunbookScreen)
    return screen


# ------------------------------------------------------------------------- flow --
async def test_b_opens_the_local_runbook_runs_a_query_then_a_shell_step(tmp_path: Path) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 45)) as pilot:
        screen = await open_via_b(app, pilot)
        source = shown(screen.query_one("#runbook-source", Static))
        assert "local" in source and f"{ALERT}.md" in source
        assert "DISPLAY-ONLY" not in source
        assert "LLMServerHighErrorRate" in shown(screen.query_one("#runbook-title", Static))
        assert [s.lang for s in screen.steps] == ["promql", "promql", "logql", "promql", "sh"]
        assert screen.selected == 0
        # links are shown with their URL and blocked ones marked (the demo allow-lists no host)
        body = runbook_texts(screen)
        assert "<https://grafana.example.com/d/llm-server> [blocked: host not allow-listed]" in body

        # step 2: `up{...}` — move with n, run with enter
        await pilot.press("n")
        assert screen.selected == 1
        await pilot.press("enter")
        await settle(app, pilot)
        result = screen.query_one("#step-result-1", Static)
        assert result.display and "2 series" in shown(result)
        assert "llm-server-7d9f8-abcde" in shown(result)
        events = [e for e in app.incident.timeline.events() if e.kind == "runbook"]
        assert len(events) == 1 and 'up{namespace="ml-serving", service="llm-server"}' in events[0].text
        assert events[0].detail["summary"] == "2 series"

        # the logql step (j moves too), then back with k/p
        await pilot.press("j")
        await pilot.press("r")
        await settle(app, pilot)
        assert "CUDA out of memory" in shown(screen.query_one("#step-result-2", Static))
        await pilot.press("k", "p", "n")
        assert screen.selected == 1

        # the sh step: confirmation with the exact argv, Cancel focused
        await pilot.press("n", "n", "n", "n")
        assert screen.selected == 4
        await pilot.press("enter")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.focused is confirm.query_one("#cancel", Button)
        preview = shown(confirm.query_one("#confirm-preview", Static))
        assert '[0] "sh"' in preview and '[1] "-c"' in preview
        assert '[4] "llm-server"' in preview and '[5] "ml-serving"' in preview
        assert '"echo \\"checking $1 in namespace $2\\"' in preview  # values never in the script
        assert not (tmp_path / "state" / "audit.jsonl").exists()  # nothing ran yet
        await pilot.press("tab")
        assert confirm.focused is confirm.query_one("#confirm", Button)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is screen
        output = shown(screen.query_one("#step-result-4", Static))
        assert "checking llm-server in namespace ml-serving" in output and "exit code 0" in output
        runbook_events = [e for e in app.incident.timeline.events() if e.kind == "runbook"]
        assert "checking llm-server in namespace ml-serving" in runbook_events[-1].text
        assert "started at" in runbook_events[-1].detail["output"]
        kinds = {e.kind for e in app.incident.timeline.events()}
        assert {"action", "result", "runbook"} <= kinds

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TriageScreen)
    intents = [r for r in AuditLog(tmp_path / "state" / "audit.jsonl").records() if r["type"] == "intent"]
    assert [r["kind"] for r in intents] == ["runbook-step"]
    assert intents[0]["target"] == "llm-server" and intents[0]["preview"]["argv"][0] == "sh"


async def test_cancel_runs_nothing_and_read_only_disables_shell_steps(tmp_path: Path) -> None:
    app = make(tmp_path, read_only=True)
    async with app.run_test(size=(120, 45)) as pilot:
        screen = await open_via_b(app, pilot)
        notes: list[str] = []
        real_notify = app.notify

        def spy(message: str, **k: Any) -> None:
            notes.append(str(message))
            real_notify(message, **k)

        app.notify = spy  # type: ignore[method-assign]
        screen.select(4)
        assert "read-only" in shown(screen.query_one("#runbook-status", Static))
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen  # no confirmation
        assert any("read-only" in n for n in notes)
        # queries still run in a read-only context (they only read)
        screen.select(0)
        await pilot.press("enter")
        await settle(app, pilot)
        assert "1 series" in shown(screen.query_one("#step-result-0", Static))
    assert not (tmp_path / "state" / "audit.jsonl").exists()
    assert not (tmp_path / "state" / "runbook-output").exists()


async def test_protected_context_makes_you_type_the_target(tmp_path: Path) -> None:
    settings = demo_settings()
    settings.contexts["demo"].protected = True
    app = make(tmp_path, settings)
    async with app.run_test(size=(120, 45)) as pilot:
        screen = await open_via_b(app, pilot)
        screen.select(4)
        await pilot.press("enter")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.typed_target == "llm-server"
        assert confirm.query_one("#confirm", Button).disabled
        await pilot.press("escape")
        await settle(app, pilot)
    assert not (tmp_path / "state" / "audit.jsonl").exists()


async def test_escape_on_the_confirmation_runs_nothing(tmp_path: Path) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 45)) as pilot:
        screen = await open_via_b(app, pilot)
        screen.select(4)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen
        assert not screen.query_one("#step-result-4", Static).display
    assert not (tmp_path / "state" / "audit.jsonl").exists()


# ---------------------------------------------------------------- not found / url --
def settings_with(**runbooks: Any) -> Settings:
    settings = demo_settings()
    settings.runbooks = RunbookSettings(**runbooks)
    return settings


async def test_no_runbook_says_where_it_looked(tmp_path: Path) -> None:
    empty = tmp_path / "books"
    empty.mkdir()
    app = make(tmp_path, settings_with(dir=str(empty)))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_via_b(app, pilot)
        text = shown(screen.query_one("#runbook-source", Static))
        assert "No runbook found" in text
        assert str(empty / f"{ALERT}.md") in text
        assert "https://runbooks.example.com/model-serving/high-error-rate" in text
        assert "runbooks.allowed_hosts" in text
        assert "not found" in shown(screen.query_one("#runbook-title", Static))


async def test_url_runbook_is_display_only(tmp_path: Path) -> None:
    body = "# From the wiki\n\n[fix](javascript:alert(1))\n\n```sh\ntouch /tmp/pwned\n```\n\n```promql\nup\n```\n"
    requested: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(request)
        return httpx.Response(200, text=body)

    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    empty = tmp_path / "books"
    empty.mkdir()
    settings = settings_with(dir=str(empty), allowed_hosts=["runbooks.example.com"])
    fetcher = RunbookFetcher(settings.runbooks, transport=httpx.MockTransport(handler), resolver=resolver)
    app = make(tmp_path, settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await select_alert(app, pilot)
        open_runbook(app, app.current_target(), alerts=app.incident.last_data.alerts, selected=app.selected_alert(), fetcher=fetcher)
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, RunbookScreen)
        source = shown(screen.query_one("#runbook-source", Static))
        assert "DISPLAY-ONLY" in source and "https://runbooks.example.com/model-serving/high-error-rate" in source
        assert "<javascript:alert(1)> [blocked: javascript: link]" in runbook_texts(screen)
        for index in (0, 1):
            screen.select(index)
            assert "display-only" in shown(screen.query_one("#runbook-status", Static))
            await pilot.press("enter")
            await settle(app, pilot)
            assert app.screen is screen
        assert not (tmp_path / "state" / "audit.jsonl").exists()
        assert [e for e in app.incident.timeline.events() if e.kind == "runbook"] == []
    await fetcher.aclose()
    assert len(requested) == 1 and "authorization" not in requested[0].headers


HOSTILE = (
    "# Fix \x1b]52;c;ZWNobyBwd25lZA==\x07 now\n\n"
    "[@click=app.quit]Acknowledge[/] and x [/] y and \x1b[2J\x1b[HAll alerts resolved\n\n"
    "```sh\necho \x1b]52;c;ZWNobyBwd25lZA==\x1b\\\\ {labels.service}\n```\n"
)


async def test_hostile_local_runbook_is_shown_inert(tmp_path: Path) -> None:
    books = tmp_path / "books"
    books.mkdir()
    (books / f"{ALERT}.md").write_text(HOSTILE)
    app = make(tmp_path, settings_with(dir=str(books)))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_via_b(app, pilot)
        text = runbook_texts(screen)
        assert "\x1b" not in text
        assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in text
        assert "[@click=app.quit]Acknowledge[/]" in text and "x [/] y" in text
        await pilot.click("#runbook-body")  # clicking the text runs no action
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, RunbookScreen)


# --------------------------------------------------------------------- snapshot --
def test_runbook_screen_snapshot(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # a relative runbook directory, so the path in the header is the same on every machine
    shutil.copytree(DEMO_RUNBOOKS, tmp_path / "runbooks")
    monkeypatch.chdir(tmp_path)
    clock = lambda: T0
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    app = OncallApp(settings_with(dir="runbooks"), transport=transport, clock=clock, periodic_refresh=False, state_path=tmp_path / "state")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await select_alert(pilot.app, pilot)
        await pilot.press("b")
        await settle(pilot.app, pilot)
        await pilot.press("enter")
        await settle(pilot.app, pilot)
        pilot.app.clear_notifications()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
