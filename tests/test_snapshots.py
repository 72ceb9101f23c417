"""SVG snapshots of the triage screen from the demo incident at a fixed time.

Update them after an intended UI change with:
    .venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update
and look at the report (snapshot_report.html) before committing.
"""

from __future__ import annotations

import pytest

from oncall_tui.app import OncallApp
from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings

T0 = 1_795_300_000.0


def demo_app(**kw) -> OncallApp:  # type: ignore[no-untyped-def]
    clock = lambda: T0  # noqa: E731 - frozen time: the same picture every run
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    return OncallApp(demo_settings(), transport=transport, clock=clock, periodic_refresh=False, **kw)


async def _loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.app.first_load.wait()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()  # e.g. the detail view's own history queries
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_triage_screen(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(demo_app(), terminal_size=size, run_before=_loaded)


def test_service_detail(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(demo_app(goto=":svc llm-server"), terminal_size=(120, 40), run_before=_loaded)


def test_help_overlay(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=(120, 40), run_before=run_before)
