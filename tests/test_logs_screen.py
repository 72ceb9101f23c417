"""The logs drill-down (Loki) driven with Textual's Pilot, on the embedded demo incident.

The demo serves Loki through the real client; its llm-server writes CUDA OOM errors with trace
ids. The clock is frozen, and moved by hand where follow mode needs new lines. Hostile lines
(SECURITY.md) go through a mock Loki and the bytes the app writes to the terminal are checked.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import re
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
import pytest
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import Input

from oncall_tui.app import OncallApp
from oncall_tui.clients.http import NO_RETRY
from oncall_tui.core.logs.levels import entry_level
from oncall_tui.core.logs.traceids import entry_trace_id
from oncall_tui.core.target import DrillTarget
from oncall_tui.demo import LOKI_URL, DemoIncident, DemoTransport, demo_settings
from oncall_tui.screens.logs import LogsScreen
from oncall_tui.settings import Settings
from oncall_tui.widgets.logview import LogView, detail_text
from oncall_tui.widgets.tables import AlertsTable

from .test_app import T0, Clock
from .test_hostile_ui import hostile_backend

SIZE = (120, 40)


def make_app(clock: Clock | None = None, **kw: Any) -> tuple[OncallApp, DemoTransport]:
    clock = clock or Clock()
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    app = OncallApp(demo_settings(), transport=transport, clock=clock, periodic_refresh=False, **kw)
    return app, transport


async def settle(app: OncallApp, pilot: Any) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def wait_until(pilot: Any, predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def open_alert_logs(app: OncallApp, pilot: Any) -> LogsScreen:
    """From the triage screen: select the llm-server error alert and press ``l``."""
    await app.first_load.wait()
    await pilot.pause()
    triage = app.triage_screen()
    assert triage is not None
    alerts = triage.query_one(AlertsTable)
    await pilot.press("tab")  # to the alerts table, as a responder does
    await pilot.pause()
    assert triage.focused is alerts
    for _ in range(alerts.row_count):
        selected = triage.selected_alert()
        if selected is not None and selected.name == "LLMServerHighErrorRate":
            break
        await pilot.press("j")
    selected = triage.selected_alert()
    assert selected is not None and selected.name == "LLMServerHighErrorRate" and selected.service == "llm-server"
    await pilot.press("l")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, LogsScreen)
    return screen


def detail_of(screen: LogsScreen) -> str:
    assert screen.detail is not None
    return detail_text(screen.detail, width=100)


def label(screen: LogsScreen, selector: str) -> str:
    return str(screen.query_one(selector).render())


def fast_loki(app: OncallApp) -> None:
    """No client retries and no real waiting: a down Loki fails at once, follow polls quickly."""
    loki = app.incident.session.drill.loki
    assert loki is not None
    loki.retry = NO_RETRY

    async def quick(delay: float) -> None:
        await asyncio.sleep(min(delay, 0.01))

    loki.sleep = quick


# --------------------------------------------------------------------------- basics --
async def test_l_on_the_alert_shows_llm_server_logs_with_cuda_errors() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alert_logs(app, pilot)
        assert 'service="llm-server"' in screen.logql
        assert screen.query_one("#logql", Input).value == screen.logql
        assert screen.drill_target.service == "llm-server"
        assert len(screen.buffer) > 100
        assert all(e.labels.get("service") == "llm-server" for e in screen.buffer.entries)
        view = screen.query_one(LogView)
        assert app.focused is view and view.at_end  # newest line at the bottom, selected
        cuda = [e for e in screen.buffer.entries if "CUDA out of memory" in e.line]
        assert cuda and all(entry_level(e) == "error" for e in cuda)
        assert "lines" in screen.status_parts["counts"]
        assert screen.status_parts["badge"].startswith("loki ok")
        assert "LLMServerHighErrorRate" in label(screen, "#logs-what")
        # The painted rows show time, a coloured ERROR level and the message.
        out = terminal_text(app)
        assert re.search(r"\d\d:\d\d:\d\d\.\d{3} ERROR .*CUDA out of memory", out), out[:2000]
        await pilot.press("escape")
        assert app.screen is app.triage_screen()


async def test_enter_expands_the_line_and_t_opens_its_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = make_app()
    calls: list[tuple[str, str | None]] = []
    has_waterfall = importlib.util.find_spec("oncall_tui.screens.waterfall") is not None
    if not has_waterfall:
        monkeypatch.setattr(app, "open_trace", lambda trace_id, span_id=None: calls.append((trace_id, span_id)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alert_logs(app, pilot)
        view = screen.query_one(LogView)
        rows = [r for r in range(view.row_count) if "CUDA out of memory" in (view.entry_at(r).line if view.entry_at(r) else "")]
        view.move_cursor(rows[-1])
        entry = view.selected_entry
        assert entry is not None
        trace_id = entry_trace_id(entry)
        assert trace_id and re.fullmatch(r"[0-9a-f]{32}", trace_id)
        await pilot.press("enter")
        await pilot.pause()
        assert not screen.query_one("#logs-detail").has_class("hidden")
        detail = detail_of(screen)
        assert "fields (json)" in detail and "message" in detail and "CUDA out of memory" in detail
        assert f"trace {trace_id}" in detail and "t: open trace" in detail
        assert "stream labels" in detail and "structured metadata" in detail
        # moving the cursor updates the pane
        await pilot.press("k")
        assert detail_of(screen) != detail
        await pilot.press("j")
        await pilot.press("t")
        await pilot.pause()
        if has_waterfall:
            assert type(app.screen).__name__ == "WaterfallScreen"
            assert app.screen.trace_id == trace_id  # type: ignore[attr-defined]
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen
        else:
            assert calls and calls[0][0] == trace_id


async def test_t_on_a_line_without_trace_id_says_so() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_alert_logs(app, pilot)
        view = screen.query_one(LogView)
        row = next(r for r in range(view.row_count) if entry_trace_id(view.entry_at(r)) is None)  # type: ignore[arg-type]
        view.move_cursor(row)
        await pilot.press("t")
        await pilot.pause()
        assert app.screen is screen
        assert any("no trace id" in str(n.message) for n in app._notifications)


# --------------------------------------------------------------------------- filter --
async def test_slash_filters_loaded_lines_and_enter_pushes_it_into_the_query() -> None:
    app, transport = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alert_logs(app, pilot)
        total = len(screen.buffer)
        expected = sum("cuda" in e.line.lower() for e in screen.buffer.entries)
        assert 0 < expected < total
        await pilot.press("slash")
        assert app.focused is screen.query_one("#filter", Input)
        await pilot.press(*"CUDA")
        await pilot.pause()
        view = screen.query_one(LogView)
        assert view.row_count == expected
        assert all("cuda" in view.entry_at(r).line.lower() for r in range(view.row_count))  # type: ignore[union-attr]
        assert f"{expected:,} of {total:,} match 'CUDA'" in screen.status_parts["counts"]
        # down: back to the lines, the filter kept; / again: back to the filter text
        await pilot.press("down")
        assert app.focused is view and view.row_count == expected
        await pilot.press("slash")
        assert app.focused is screen.query_one("#filter", Input) and screen.query_one("#filter", Input).value == "CUDA"
        # inverse filter
        await pilot.press("home", "exclamation_mark")
        await pilot.pause()
        assert view.row_count == total - expected
        await pilot.press("home", "delete")
        await pilot.pause()
        assert view.row_count == expected
        served = transport.requests_served
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.logql.endswith('|= "CUDA"') and 'service="llm-server"' in screen.logql
        assert screen.query_one("#logql", Input).value == screen.logql
        assert transport.requests_served == served + 1
        assert screen.filter_text == "" and screen.query_one("#filter").has_class("hidden")
        assert len(screen.buffer) == expected  # Loki filtered now
        assert all("CUDA" in e.line for e in screen.buffer.entries)


async def test_e_edits_the_logql_and_enter_reruns_it() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alert_logs(app, pilot)
        await pilot.press("e")
        box = screen.query_one("#logql", Input)
        assert app.focused is box
        box.value = '{service="feature-store"} |= "cache miss"'
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.logql == '{service="feature-store"} |= "cache miss"'
        assert len(screen.buffer) > 0
        assert all(e.labels["service"] == "feature-store" and "cache miss" in e.line for e in screen.buffer.entries)
        assert app.focused is screen.query_one(LogView)


# ------------------------------------------------------------------------- patterns --
async def test_p_groups_lines_into_patterns_with_counts() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alert_logs(app, pilot)
        cuda = sum("CUDA out of memory" in e.line for e in screen.buffer.entries)
        await pilot.press("p")
        await settle(app, pilot)
        view = screen.query_one(LogView)
        assert view.mode == "patterns" and screen.groups
        assert sum(g.count for g in screen.groups) == len(screen.buffer)
        counts = [g.count for g in screen.groups]
        assert counts == sorted(counts, reverse=True)
        oom = [g for g in screen.groups if "CUDA out of memory" in g.shape]
        assert len(oom) == 1 and oom[0].count == cuda
        assert f"{len(screen.groups):,} patterns in {len(screen.buffer):,} lines" == screen.status_parts["counts"]
        out = terminal_text(app)
        assert re.search(rf"\b{cuda}\s+ERROR\s+logger=\S+ message=CUDA out of memory", out), out[:3000]
        await pilot.press("enter")
        await pilot.pause()
        assert "pattern of" in detail_of(screen)
        await pilot.press("escape", "p")
        await pilot.pause()
        assert view.mode == "lines" and view.row_count == len(screen.buffer)


# --------------------------------------------------------------------------- follow --
async def test_follow_survives_a_disconnect_without_duplicates_or_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LogsScreen, "poll_interval", 0.02)
    clock = Clock()
    app, transport = make_app(clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alert_logs(app, pilot)
        fast_loki(app)
        first_newest = screen.buffer.newest_ns
        assert first_newest is not None
        await pilot.press("f")
        await pilot.pause()
        assert screen.following and screen.status_parts["mode"] == "following"
        clock.now += 60  # a minute of new lines
        await wait_until(pilot, lambda: (screen.buffer.newest_ns or 0) > first_newest, "new lines while following")
        view = screen.query_one(LogView)
        assert view.at_end and view.selected_entry is screen.buffer.entries[-1]  # tails the newest line
        # Loki goes away for a while: the follower reports it and keeps trying.
        transport.set_down(LOKI_URL, True)
        follower = screen._follower
        assert follower is not None
        await wait_until(pilot, lambda: follower.disconnected_since is not None, "the follower to notice")
        screen.render_status()
        assert screen.status_parts["mode"].startswith("reconnecting since ")
        assert screen.status_parts["badge"].startswith("loki DOWN since")
        assert label(screen, "#logs-error").startswith("reconnecting: loki: cannot connect")
        held = len(screen.buffer)
        clock.now += 60  # lines written while Loki was unreachable
        await pilot.pause(0.1)
        assert len(screen.buffer) == held  # kept, not cleared
        transport.set_down(LOKI_URL, False)
        await wait_until(pilot, lambda: follower.disconnected_since is None, "the follower to reconnect")
        target_end = clock.now

        def caught_up() -> bool:
            newest = screen.buffer.newest_ns or 0
            return newest >= (target_end - 5) * 1e9

        await wait_until(pilot, caught_up, "lines written during the outage")
        await pilot.pause(0.1)
        screen.render_status()
        assert screen.status_parts["mode"] == "following"
        assert screen.query_one("#logs-error").has_class("hidden")
        keys = [e.key for e in screen.buffer.entries]
        assert len(keys) == len(set(keys)), "duplicate lines after reconnecting"
        # No gap: every line Loki has since the first load's newest is in the buffer.
        truth = await app.incident.session.drill.logs(screen.logql, start=first_newest, end=int(clock.now * 1e9) + 1, limit=5000, direction="forward")
        assert truth and {e.key for e in truth} <= set(keys)
        # Toggling off cancels the worker.
        await pilot.press("f")
        await pilot.pause()
        assert not screen.following and screen._follower is None
        polls = follower.polls
        await pilot.pause(0.1)
        assert follower.polls == polls


async def test_leaving_the_screen_stops_following(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LogsScreen, "poll_interval", 0.02)
    app, transport = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alert_logs(app, pilot)
        fast_loki(app)
        await pilot.press("f")
        await pilot.pause(0.1)
        follower = screen._follower
        assert follower is not None and follower.polls > 0
        await pilot.press("escape")
        await pilot.pause()
        served = transport.requests_served
        await pilot.pause(0.2)
        assert transport.requests_served == served


# --------------------------------------------------------------------------- failure --
async def test_loki_down_shows_down_and_keeps_the_lines() -> None:
    clock = Clock()
    app, transport = make_app(clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alert_logs(app, pilot)
        fast_loki(app)
        before = list(screen.buffer.entries)
        transport.set_down(LOKI_URL, True)
        clock.now += 30
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert screen.status_parts["badge"].startswith("loki DOWN since")
        assert screen.badge_status == "down"
        error = label(screen, "#logs-error")
        assert "cannot connect" in error and f"showing the {len(before):,} lines" in error
        assert list(screen.buffer.entries) == before
        assert screen.query_one(LogView).row_count == len(before)
        assert screen.query_one(LogView).has_class("-stale")
        assert "STALE" in screen.status_parts["counts"]
        transport.set_down(LOKI_URL, False)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert screen.status_parts["badge"].startswith("loki ok")
        assert screen.query_one("#logs-error").has_class("hidden")
        assert not screen.query_one(LogView).has_class("-stale")


async def test_a_limit_error_shows_guidance_and_is_not_retried() -> None:
    app, transport = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alert_logs(app, pilot)
        lines = len(screen.buffer)
        screen.page_size = 6000  # above the demo Loki's max_entries_limit_per_query (5000)
        served = transport.requests_served
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert transport.requests_served == served + 1  # a 400 is not retried
        error = label(screen, "#logs-error")
        assert "max entries limit" in error
        assert "ask for at most 5000 lines" in error and "add a label selector" in error
        assert screen.status_parts["badge"] == "loki: query rejected"
        assert len(screen.buffer) == lines
        # An empty-compatible selector: what to change, not a retry either.
        await pilot.press("e")
        screen.query_one("#logql", Input).value = '{service=~".*"}'
        served = transport.requests_served
        await pilot.press("enter")
        await settle(app, pilot)
        assert transport.requests_served == served + 1
        assert "add a label matcher with a non-empty value" in label(screen, "#logs-error")


async def test_logs_command_opens_the_view_with_that_query() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.first_load.wait()
        await pilot.pause()
        app.run_command(':logs {service="llm-server"} |= "CUDA"')
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        assert screen.logql == '{service="llm-server"} |= "CUDA"'
        assert screen.query_one("#logql", Input).value == screen.logql
        assert screen.drill_target.service == "llm-server"
        assert len(screen.buffer) > 0 and all("CUDA" in e.line for e in screen.buffer.entries)


async def test_logs_screen_opened_with_an_explicit_query() -> None:
    """What ``:logs <LogQL>`` does (``app.open_logs(logql=...)``), independent of the parser."""
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.first_load.wait()
        await pilot.pause()
        app.open_logs(logql='{service="llm-server"} |= "CUDA"')
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        assert screen.logql == '{service="llm-server"} |= "CUDA"'
        assert screen.drill_target.service == "llm-server"
        assert len(screen.buffer) > 0 and all("CUDA" in e.line for e in screen.buffer.entries)


async def test_no_selection_asks_for_a_query() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.first_load.wait()
        app.open_logs(DrillTarget(T0 - 600, T0))
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LogsScreen) and screen.logql == ""
        assert app.focused is screen.query_one("#logql", Input)
        assert "no log query" in terminal_text(app)


async def test_scrolling_past_the_top_loads_older_lines() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.first_load.wait()
        target = DrillTarget(T0 - 600, T0, "llm-server", {"service": "llm-server"})
        app.open_logs(target)
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        oldest = screen.buffer.oldest_ns
        count = len(screen.buffer)
        view = screen.query_one(LogView)
        selected = view.selected_entry
        await pilot.press("g")  # to the top...
        await pilot.press("k")  # ...and past it
        await settle(app, pilot)
        assert len(screen.buffer) > count and (screen.buffer.oldest_ns or 0) < (oldest or 0)
        assert "older lines" in screen.status_parts["note"]
        assert view.entry_at(view.cursor) is screen.buffer.entries[len(screen.buffer) - count]  # cursor stayed on its line
        assert selected in screen.buffer.entries


async def test_bounded_buffer_reports_dropped_lines() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.first_load.wait()
        app.push_screen(LogsScreen(DrillTarget(T0 - 1800, T0, "llm-server", {"service": "llm-server"}), max_entries=100))
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        assert len(screen.buffer) == 100
        dropped = screen.buffer.dropped_oldest
        assert dropped > 0 and screen.status_parts["dropped"] == f"dropped {dropped:,} older lines"


# ------------------------------------------------------------------------ rendering --
def terminal_text(app: OncallApp) -> str:
    """The visible screen as plain text (one line per row)."""
    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, record=True, file=io.StringIO(), legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


HOSTILE_LINES = [
    "[bold red]x[/]",
    "[link=https://evil.example]https://runbooks.corp[/link]",
    "[@click=app.quit]Acknowledge[/]",
    "x [/] y",
    "\x1b[31mred sgr\x1b[0m",
    "\x1b]8;;https://evil.example/\x1b\\https://runbooks.corp/\x1b]8;;\x1b\\",
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "\x1b]52;c;ZWNobyBwd25lZA==\x1b\\",
    "bell\x07bell",
    "rm -rf /var/data\rstatus ok          ",
    "DANGER\x08\x08\x08\x08\x08\x08SAFE  ",
    "\x1b[2J\x1b[HAll alerts resolved",
    "\x1b]2;id;\x07\x1b[21t",
    "\x1b[6n\x1bc\x1b[?1049l",
    "bidi \u202eevil\u202c text",
    "nul\x00del\x7fc1\x9bend",
    '{"level":"error","msg":"\x1b]52;c;ZWNobyBwd25lZA==\x07","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","k":"[bold]v[/bold]"}',
    'level=warn msg="\x1b[2J wipe" who="[/]"',
    "A" * 100_000,
]
FORBIDDEN = ["\x1b]52", "\x1b]8;", "\x1b]2;", "\x07", "\r", "\x08", "\x1b[2J", "\x1b[6n", "\x1bc", "\x1b[?1049l", "\x1b[21t", "\u202e", "\x00", "\x9b"]
#: What Textual itself writes: colours (SGR), cursor positioning, synchronized output, cursor
#: visibility, and the mouse pointer shape (OSC 22, terminated by BEL).
OWN_SEQUENCES = re.compile(
    r"\x1b\[[0-9;:]*m|\x1b\[\d+;\d+H|\x1b\[\?2026[hl]|\x1b\[\?25[hl]|\x1b\[\d*[ABCDK]|\x1b\]22;[a-z-]+\x07"
)


def hostile_loki() -> httpx.MockTransport:
    base = hostile_backend([])
    ns0 = int(T0 * 1e9) - 60_000_000_000

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/loki/api/v1/query_range":
            values = [[str(ns0 + i * 1_000_000_000), line, {"structuredMetadata": {"note": line[:200]}}] for i, line in enumerate(HOSTILE_LINES)]
            body = {
                "status": "success",
                "data": {
                    "resultType": "streams",
                    "encodingFlags": ["categorize-labels"],
                    "result": [{"stream": {"service": "evil[/]", "pod": "pod-\x1b]52;c;eA==\x07-\u202e"}, "values": values}],
                },
            }
            return httpx.Response(200, content=json.dumps(body).encode(), headers={"content-type": "application/json"})
        return base.handler(request)  # type: ignore[attr-defined]

    return httpx.MockTransport(handler)


class RecordingDriver(HeadlessDriver):
    """Headless, but the app renders every frame and hands it to ``write``: we keep it all."""

    written: ClassVar[list[str]] = []

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        type(self).written.append(data)

    def flush(self) -> None:
        pass


async def test_hostile_lines_reach_the_terminal_inert() -> None:
    settings = Settings.model_validate(
        {
            "contexts": {
                "x": {
                    "endpoints": {
                        "prometheus": {"url": "http://p", "no_proxy": True},
                        "alertmanager": {"url": "http://a", "no_proxy": True},
                        "loki": {"url": "http://l", "no_proxy": True},
                    }
                }
            }
        }
    )
    RecordingDriver.written = []
    app = OncallApp(settings, transport=hostile_loki(), clock=lambda: T0, periodic_refresh=False)
    app.driver_class = RecordingDriver
    async with app.run_test(size=(160, 45), headless=False) as pilot:
        await app.first_load.wait()
        # The query is built from a hostile label value: the LogQL box must show it inert too.
        app.open_logs(DrillTarget(T0 - 3600, T0, "x", {"service": "x\u202e[/]\x1b]52;c;eA==\x07"}))
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        assert len(screen.buffer) == len(HOSTILE_LINES)
        assert screen.logql == '{service="x\\u202e[/]\\u001b]52;c;eA==\\u0007"}'
        assert screen.query_one("#logql", Input).value == screen.logql
        visible = terminal_text(app)
        for literal in ("[bold red]x[/]", "[@click=app.quit]Acknowledge[/]", "x [/] y", "\\x1b]52;c;ZWNobyBwd25lZA==\\x07", "<U+202E>", "\\r"):
            assert literal in visible, literal
        # Every line through the detail pane too (the 100 KB one last), then the raw and pattern views.
        await pilot.press("g", "enter")
        await pilot.pause()
        for _ in HOSTILE_LINES:
            await pilot.press("j")
            await pilot.pause()
        detail = detail_of(screen)
        assert "…[+" in detail  # the 100 KB line is cut with a visible marker
        await pilot.press("g")
        await pilot.pause()
        assert "[bold red]x[/]" in terminal_text(app)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("p")
        await settle(app, pilot)
        await pilot.press("slash", *"bold")
        await pilot.pause()
        await pilot.press("escape", "escape", "t")
        await pilot.pause()
        assert app.is_running
    out = "".join(RecordingDriver.written)
    assert "Acknowledge" in out and "ZWNobyBwd25lZA" in out  # the hostile text did reach the screen...
    rest = OWN_SEQUENCES.sub("", out)
    for bad in FORBIDDEN:  # ...but never as a raw control sequence
        assert bad not in rest, repr(bad)
    stray = sorted({repr(c) for c in rest if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F})
    assert stray == [], stray


# ------------------------------------------------------------------------- snapshot --
def test_logs_screen_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    clock = lambda: T0  # frozen time: the same picture every run
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    app = OncallApp(demo_settings(), transport=transport, clock=clock, periodic_refresh=False)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await open_alert_logs(pilot.app, pilot)
        view = screen.query_one(LogView)
        rows = [r for r in range(view.row_count) if "CUDA" in view.entry_at(r).line]  # type: ignore[union-attr]
        view.move_cursor(rows[-1])
        await pilot.press("enter")
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
