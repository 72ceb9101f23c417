"""The triage screen driven with Textual's Pilot, on the embedded demo incident.

The demo is served through the real clients by the demo transport; the clock is frozen so
that what a responder would see is reproducible.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import httpx
import pytest
from textual.widgets import Input

from oncall_tui.app import OncallApp
from oncall_tui.demo import ALERTMANAGER_URL, PROMETHEUS_URL, DemoIncident, DemoTransport, demo_services
from oncall_tui.screens.detail import ServiceDetailScreen
from oncall_tui.screens.overlays import HelpScreen
from oncall_tui.screens.triage import TriageScreen
from oncall_tui.settings import Settings
from oncall_tui.widgets.tables import AlertsTable, SignalsTable

T0 = 1_795_300_000.0  # a fixed wall-clock time for the demo


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def settings(keymap: dict[str, str] | None = None) -> Settings:
    services = [{"name": s.name, "preset": s.preset, "slo": s.slo.model_dump(exclude_none=True)} for s in demo_services()]
    endpoints = {
        "prometheus": {"url": PROMETHEUS_URL, "no_proxy": True},
        "alertmanager": {"url": ALERTMANAGER_URL, "no_proxy": True},
    }
    return Settings.model_validate(
        {
            "current_context": "demo",
            "keymap": keymap or {},
            "contexts": {
                "demo": {"color": "magenta", "endpoints": endpoints, "services": services},
                "prod-eu": {"color": "red", "read_only": True, "endpoints": endpoints, "services": services[:2]},
            },
        }
    )


def make_app(clock: Clock | None = None, **kw: Any) -> tuple[OncallApp, DemoTransport]:
    clock = clock or Clock()
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    app = OncallApp(kw.pop("settings", None) or settings(), transport=transport, clock=clock, periodic_refresh=False, **kw)
    return app, transport


async def loaded(app: OncallApp, pilot) -> TriageScreen:  # type: ignore[no-untyped-def]
    await app.first_load.wait()
    await pilot.pause()
    screen = app.triage_screen()
    assert screen is not None
    return screen


def table_keys(table) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(r.key.value) for r in table.ordered_rows]


async def test_worst_service_first_and_alerts_with_states() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        signals = screen.query_one(SignalsTable)
        assert table_keys(signals)[0] == "llm-server"
        alerts = app.incident.last_data.alerts  # type: ignore[union-attr]
        states = {a.name: a.state for a in alerts}
        assert states["LLMServerHighErrorRate"] == "firing"
        assert states["LLMServerHighLatencyP99"] == "inhibited"
        assert states["GPUFramebufferMemoryHigh"] == "silenced"
        assert alerts[0].severity == "critical"


async def test_move_and_drill_into_detail_and_back() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        signals = screen.query_one(SignalsTable)
        first, second = table_keys(signals)[:2]
        await pilot.press("j")
        assert signals.selected_key == second
        await pilot.press("k")
        assert signals.selected_key == first
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ServiceDetailScreen) and app.screen.service == first
        promql = str(app.screen.query_one("#promql-1").render())
        assert "http_requests_total" in promql and 'service="llm-server"' in promql
        await pilot.press("escape")
        assert isinstance(app.screen, TriageScreen)


@pytest.mark.parametrize(
    ("service", "expected"),
    [("llm-server", ("KV cache 9", "waiting ", "TTFT p95 ", "tokens/s ")), ("embedder", ("queue time ", "compute time ")), ("reranker", ("queue ",))],
)
async def test_detail_shows_llm_serving_saturation_for_its_preset(service: str, expected: tuple[str, ...]) -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        app.open_service(service)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = str(app.screen.query_one("#llm").render())
        assert text.startswith("LLM serving: ")
        for part in expected:
            assert part in text, text
        assert "–" not in text.splitlines()[0], text  # every value answered
        assert "sum by (service" in text  # the PromQL behind the values


async def test_detail_of_a_plain_http_service_has_no_llm_section() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        app.open_service("feature-store")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#llm").display is False


async def test_filter_with_slash_narrows_and_escape_clears() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"feature")
        await pilot.press("enter")
        assert table_keys(screen.query_one(SignalsTable)) == ["feature-store"]
        await pilot.press("escape")
        assert len(table_keys(screen.query_one(SignalsTable))) == 5


async def test_space_narrows_alerts_to_the_selected_service() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        all_alerts = len(table_keys(screen.query_one(AlertsTable)))
        await pilot.press("space")
        narrowed = [a for a in app.incident.last_data.alerts if a.service == "llm-server"]  # type: ignore[union-attr]
        assert len(table_keys(screen.query_one(AlertsTable))) == len(narrowed) < all_alerts
        await pilot.press("space")
        assert len(table_keys(screen.query_one(AlertsTable))) == all_alerts


async def test_context_switch_retargets_and_shows_read_only() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        assert screen.query_one("#readonly").has_class("hidden")
        await pilot.press("colon")
        await pilot.press(*"ctx prod-eu")
        await pilot.press("enter")
        await pilot.pause()
        for _ in range(50):
            if app.incident.last_data is not None and app.incident.last_data.context == "prod-eu":
                break
            await pilot.pause(0.05)
        assert app.context.name == "prod-eu" and app.read_only
        assert not screen.query_one("#readonly").has_class("hidden")
        assert len(table_keys(screen.query_one(SignalsTable))) == 2


async def test_pause_shows_banner_and_stops_refreshing() -> None:
    app, transport = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("Z")
        assert not screen.query_one("#paused").has_class("hidden")
        served = transport.requests_served
        screen.render_header()  # the 1 s header tick
        await pilot.pause()
        assert transport.requests_served == served
        await pilot.press("Z")
        assert screen.query_one("#paused").has_class("hidden")


async def test_key_remapped_in_config_takes_effect() -> None:
    app, _ = make_app(settings=settings(keymap={"pause": "p"}))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("Z")
        assert screen.query_one("#paused").has_class("hidden")  # old key does nothing
        await pilot.press("p")
        assert not screen.query_one("#paused").has_class("hidden")


def key_line(screen) -> str:  # type: ignore[no-untyped-def]
    from oncall_tui.widgets.footer import KeyHints

    return str(screen.query_one(KeyHints).render())


async def test_key_line_shows_remapped_keys_and_follows_focus() -> None:
    app, _ = make_app(settings=settings(keymap={"pause": "p"}))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        line = key_line(screen)
        assert " p Pause " in line and " Z Pause " not in line  # the remapped key, not the default
        assert "/ Filter" in line and line.rstrip().endswith("palette")
        await pilot.press("slash")  # the filter input takes focus: its keys replace the table's
        await pilot.pause()
        assert "Detail" not in key_line(screen)  # the table's keys leave with its focus
        await pilot.press("escape")
        await pilot.pause()
        assert "Detail" in key_line(screen)


async def test_clicking_a_key_in_the_key_line_presses_it() -> None:
    from oncall_tui.widgets.footer import KeyHints

    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        line = key_line(screen)
        await pilot.click(KeyHints, offset=(line.index(" Pause") - 1, 0))
        await pilot.pause()
        assert not screen.query_one("#paused").has_class("hidden")


async def test_help_overlay_lists_binding_ids() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        ids = {row[2] for row in app.screen.rows}
        assert {"pause", "refresh", "filter", "command-line"} <= ids
        await pilot.press("escape")
        assert isinstance(app.screen, TriageScreen)


async def test_backend_down_keeps_data_with_its_age_and_recovers() -> None:
    clock = Clock()
    app, transport = make_app(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        before = table_keys(screen.query_one(SignalsTable))
        transport.set_down(PROMETHEUS_URL, True)
        clock.now += 45
        incident_clock_shift(transport, clock)
        await screen.refresh_data().wait()
        await pilot.pause()
        prom = app.incident.session.sources["prometheus"]
        assert prom.status(clock()) == "down" and prom.age(clock()) == pytest.approx(45)
        badge = str(screen.query_one("#sources").children[0].render())
        assert "DOWN since" in badge and "data 45s old" in badge
        assert "cannot connect" in str(screen.query_one("#problems").render())
        assert table_keys(screen.query_one(SignalsTable)) == before  # last good data kept
        assert screen.query_one(SignalsTable).has_class("stale")
        assert app.incident.session.sources["alertmanager"].status(clock()) == "fresh"  # the rest keeps working
        transport.set_down(PROMETHEUS_URL, False)
        await screen.refresh_data().wait()
        await pilot.pause()
        assert prom.status(clock()) == "fresh"
        assert screen.query_one("#problems").has_class("hidden")


def incident_clock_shift(transport: DemoTransport, clock: Clock) -> None:
    """The demo incident reads the same clock object, so nothing to do; kept for clarity."""
    assert transport.incident.now() == clock()


async def test_deep_link_goto_opens_the_service() -> None:
    app, _ = make_app(goto=":svc feature-store")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        await pilot.pause()
        assert isinstance(app.screen, ServiceDetailScreen) and app.screen.service == "feature-store"


async def test_unknown_command_is_reported_not_fatal() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(app, pilot)
        app.run_command(":frobnicate")
        await pilot.pause()
        assert any("unknown command" in str(n.message) for n in app._notifications)
        assert app.is_running


class HangingTransport(httpx.AsyncBaseTransport):
    """Every request waits for ever (a hung server: no answer, no error)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_the_collector_is_paused_only_until_the_first_frame_with_data() -> None:
    assert gc.isenabled()
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert not gc.isenabled()  # start-up: what is built now stays alive
        await loaded(app, pilot)
        await pilot.pause()
        assert gc.isenabled()
    assert gc.isenabled()


async def test_the_collector_comes_back_when_no_backend_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    import oncall_tui.app as app_module

    monkeypatch.setattr(app_module, "STARTUP_GC_PAUSE", 0.3)
    app = OncallApp(settings(), transport=HangingTransport(), periodic_refresh=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert not gc.isenabled()
        await asyncio.sleep(0.5)
        await pilot.pause()
        assert gc.isenabled() and not app.first_load.is_set()
    assert gc.isenabled()
