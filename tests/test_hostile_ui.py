"""SECURITY.md R1: hostile label values, alert names and annotations reach the triage screen,
the detail view and the help/palette paths as inert text. We render exactly what would be sent to
the terminal and assert that only colour (SGR) sequences remain; nothing crashes."""

from __future__ import annotations

import io
import json
import re

import httpx
from rich.console import Console
from textual.command import CommandList

from oncall_tui.app import OncallApp
from oncall_tui.screens.detail import ServiceDetailScreen
from oncall_tui.settings import Settings

from .test_sanitize_redact import HOSTILE

MARKUP = ["x [/] y", "[/bold]", "[@click=app.quit]Acknowledge[/]", "[$error]FAKE CRITICAL[/]", "level=[error] disk", "C:\\temp\\"]
SGR = re.compile(r"\x1b\[[0-9;:]*m")
CURSOR_MOVE = re.compile(r"\x1b\[\d+;\d+H")  # the compositor's own positioning
T0 = 1_795_300_000.0


def hostile_backend(values: list[str]) -> httpx.MockTransport:
    services = [f"svc{i}-{v}" for i, v in enumerate(values)]

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/query":
            result = [{"metric": {"service": s, "__name__": "http_requests_total"}, "value": [T0, "1"]} for s in services]
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": result}})
        if path == "/api/v1/query_range":
            result = [{"metric": {"service": s}, "values": [[T0 - 60, "0.5"], [T0, "0.9"]]} for s in services]
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": result}})
        if path == "/api/v1/alerts":
            return httpx.Response(200, json={"status": "success", "data": {"alerts": []}})
        if path == "/api/v2/silences":
            return httpx.Response(200, json=[])
        if path == "/api/v2/alerts":
            alerts = [
                {
                    "labels": {"alertname": v, "service": s, "severity": "critical"},
                    "annotations": {"summary": v, "description": v},
                    "startsAt": "2026-11-22T05:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "updatedAt": "9999-12-31T23:59:59Z", "fingerprint": f"{i:016x}",
                    "receivers": [{"name": v}], "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
                    "generatorURL": v,
                }
                for i, (v, s) in enumerate(zip(values, services, strict=True))
            ]
            return httpx.Response(200, content=json.dumps(alerts).encode())
        return httpx.Response(404, text="404 page not found")

    return httpx.MockTransport(handler)


def terminal_bytes(app: OncallApp) -> str:
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system="truecolor", legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.file.getvalue()  # type: ignore[attr-defined]


def assert_inert(out: str) -> None:
    rest = CURSOR_MOVE.sub("", SGR.sub("", out))
    bad = sorted({repr(c) for c in rest if (ord(c) < 0x20 and c not in "\n") or 0x7F <= ord(c) <= 0x9F})
    assert bad == [], bad
    assert "\x1b]52" not in out and "\x1b]8;" not in out and "\x1b[2J" not in out


async def test_hostile_values_render_inert_everywhere() -> None:
    values = HOSTILE + MARKUP
    settings = Settings.model_validate(
        {"contexts": {"x": {"endpoints": {"prometheus": {"url": "http://p", "no_proxy": True}, "alertmanager": {"url": "http://a", "no_proxy": True}}}}}
    )
    app = OncallApp(settings, transport=hostile_backend(values), clock=lambda: T0, periodic_refresh=False)
    async with app.run_test(size=(200, 60)) as pilot:
        await app.first_load.wait()
        await pilot.pause()
        data = app.incident.last_data
        assert data is not None and len(data.rows) == len(values) and len(data.alerts) == len(values)
        out = terminal_bytes(app)
        assert_inert(out)
        plain = CURSOR_MOVE.sub("", SGR.sub("", out))
        assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in plain  # shown as visible text
        assert "[@click=app.quit]Acknowledge[/]" in plain  # markup shown literally
        # Drill into a hostile service and back; open help and the palette: still inert, still running.
        app.push_screen(ServiceDetailScreen(data.rows[0].service))
        await pilot.pause()
        assert_inert(terminal_bytes(app))
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert_inert(terminal_bytes(app))
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        for query, literal in (("svc0", "svc0-"), ("bold", "[/bold]"), ("click", "[@click=app.quit]"), ("error", "[$error]")):
            await pilot.press(*query)
            await pilot.pause(0.5)
            assert_inert(terminal_bytes(app))
            options = app.screen.query_one(CommandList)
            prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
            assert any(literal in p for p in prompts), f"palette does not list {literal!r} literally: {prompts}"
            await pilot.press(*["backspace"] * len(query))
        assert app.is_running
