"""``N`` in the demo: the note lands on the timeline and in the demo Grafana (tag oncall-tui), the
service detail charts mark it; read-only keeps it local; a failed post is kept for retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from textual.widgets import Static

from oncall_tui.actions.annotations import (
    KIND_ANNOTATE,
    TAG,
    failed_annotations,
    retry_failed_annotations,
)
from oncall_tui.app import OncallApp
from oncall_tui.clients.grafana import GrafanaClient
from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings
from oncall_tui.demo.common import GRAFANA_URL
from oncall_tui.models.grafana import AnnotationSpec
from oncall_tui.screens.actions import NoteScreen
from oncall_tui.screens.detail import ServiceDetailScreen

from .test_actions_ui import Recording, settle
from .test_app import T0, Clock, loaded

NOTE = "INC-42 rolled back llm-server to v2.3"


def make(tmp_path: Path, **kw: Any) -> tuple[OncallApp, Recording, list[str]]:
    clock = Clock()
    transport = Recording(DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock)))
    app = OncallApp(
        demo_settings(),
        transport=transport,
        clock=clock,
        periodic_refresh=False,
        state_path=tmp_path / "state",
        **kw,
    )
    messages: list[str] = []
    real_notify = app.notify

    def spy(message: Any, **k: Any) -> None:
        messages.append(str(message))
        real_notify(message, **k)

    app.notify = spy  # type: ignore[method-assign]
    return app, transport, messages


async def annotations_in_demo(transport: Recording) -> list[Any]:
    client = GrafanaClient(httpx.AsyncClient(base_url=GRAFANA_URL, transport=transport.inner))
    try:
        return await client.annotations(from_ms=int((T0 - 3600) * 1000), to_ms=int((T0 + 60) * 1000), tags=[TAG])
    finally:
        await client.aclose()


async def write_note(app: OncallApp, pilot, text: str = NOTE) -> None:  # type: ignore[no-untyped-def]
    await loaded(app, pilot)
    await pilot.press("N")
    await pilot.pause()
    assert isinstance(app.screen, NoteScreen)
    await pilot.press(*text, "enter")
    await settle(app, pilot)


async def test_note_goes_to_timeline_and_demo_grafana_and_marks_the_charts(tmp_path: Path) -> None:
    app, transport, messages = make(tmp_path)
    async with app.run_test(size=(120, 45)) as pilot:
        await write_note(app, pilot)
        notes = [e for e in app.incident.timeline.events() if e.kind == "note"]
        assert [n.text for n in notes] == [NOTE]
        assert ("POST", "/api/annotations") in transport.writes()
        posted = await annotations_in_demo(transport)
        assert [(a.text, a.time) for a in posted] == [(NOTE, int(T0 * 1000))]
        assert {TAG, "demo", "note"} <= set(posted[0].tags)
        assert any("posted to Grafana" in m for m in messages)
        result = [r for r in app.incident.audit.records() if r["type"] == "result"][-1]
        assert result["ok"] and result["annotation_id"] == posted[0].id
        # the service detail marks the deploy (Grafana) and the note (timeline), once each
        app.open_service("llm-server")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ServiceDetailScreen)
        legend = str(screen.query_one("#markers", Static).render())
        assert "Grafana: Deploy llm-server v2.4" in legend
        assert f"note: {NOTE}" in legend and legend.count(NOTE) == 1
        assert [m.source for m in screen.markers] == ["grafana", "note"]
        chart = str(screen.query_one("#chart-0", Static).render())
        assert "│" in chart and "1" in chart and "2" in chart


async def test_read_only_keeps_the_note_local(tmp_path: Path) -> None:
    app, transport, messages = make(tmp_path, read_only=True)
    async with app.run_test(size=(120, 45)) as pilot:
        await write_note(app, pilot, "looking at llm-server")
        assert [e.text for e in app.incident.timeline.events() if e.kind == "note"] == ["looking at llm-server"]
        assert transport.writes() == []
        assert any("local only" in m for m in messages)
        assert app.incident.audit.records() == []
        assert await annotations_in_demo(transport) == []


async def test_failed_post_is_kept_and_retried(tmp_path: Path) -> None:
    app, transport, messages = make(tmp_path)
    async with app.run_test(size=(120, 45)) as pilot:
        await loaded(app, pilot)
        transport.inner.set_down(GRAFANA_URL, True)  # type: ignore[attr-defined]
        await write_note(app, pilot)
        assert [e.text for e in app.incident.timeline.events() if e.kind == "note"] == [NOTE]
        failure = next(m for m in messages if "Grafana post failed" in m)
        assert failure.startswith("note kept locally; Grafana post failed:") and failure.endswith("(kept for retry)")
        assert "Connection refused" in failure
        [kept] = failed_annotations(app.incident.runner)
        assert kept["kind"] == KIND_ANNOTATE and kept["payload"]["spec"]["text"] == NOTE
        transport.inner.set_down(GRAFANA_URL, False)  # type: ignore[attr-defined]
        assert app.incident.session.grafana is not None
        outcomes = await retry_failed_annotations(app.incident.runner, app.incident.session.grafana)
        assert [o.ok for o in outcomes] == [True]
        assert [a.text for a in await annotations_in_demo(transport)] == [NOTE]


async def test_hostile_grafana_annotation_is_shown_inert_on_the_detail_screen(tmp_path: Path) -> None:
    hostile = "\x1b]52;c;ZWNobyBwd25lZA==\x07[@click=app.quit]ack[/] x [/] y\u202e"
    app, transport, _ = make(tmp_path)
    client = GrafanaClient(httpx.AsyncClient(base_url=GRAFANA_URL, transport=transport.inner))
    await client.create_annotation(AnnotationSpec(text=hostile, time=int((T0 - 60) * 1000), tags=["deploy"]))
    await client.aclose()
    async with app.run_test(size=(120, 45)) as pilot:
        await loaded(app, pilot)
        app.open_service("llm-server")
        await settle(app, pilot)
        legend = str(app.screen.query_one("#markers", Static).render())
        assert "\x1b" not in legend and "\x07" not in legend and "\u202e" not in legend
        assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07[@click=app.quit]ack[/] x [/] y<U+202E>" in legend
        assert app.is_running  # nothing parsed as markup, nothing crashed


async def test_detail_charts_do_not_wait_for_a_down_grafana(tmp_path: Path) -> None:
    from oncall_tui.clients.http import NO_RETRY

    app, transport, _ = make(tmp_path)
    async with app.run_test(size=(120, 45)) as pilot:
        await loaded(app, pilot)
        assert app.incident.session.grafana is not None
        app.incident.session.grafana.retry = NO_RETRY
        transport.inner.set_down(GRAFANA_URL, True)  # type: ignore[attr-defined]
        app.open_service("llm-server")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ServiceDetailScreen)
        legend = str(screen.query_one("#markers", Static).render())
        assert "Grafana annotations unavailable: grafana: cannot connect" in legend
        assert "traffic" in str(screen.query_one("#chart-0", Static).render())
