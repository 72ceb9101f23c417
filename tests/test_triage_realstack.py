"""The triage screen against the real Prometheus 2.42 and Alertmanager 0.25 (../shared/realstack):
the simulated incident's firing alerts, and the degraded service (fraud-scorer) first."""

from __future__ import annotations

import pytest

from oncall_tui.app import OncallApp
from oncall_tui.settings import load_settings
from oncall_tui.widgets.tables import AlertsTable, SignalsTable

from .conftest import REPO

pytestmark = pytest.mark.integration


async def test_triage_shows_incident_against_real_servers(realstack: dict[str, str]) -> None:
    settings = load_settings(REPO / "config" / "local-stack.yaml", env={})
    app = OncallApp(settings, periodic_refresh=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.first_load.wait()
        screen = app.triage_screen()
        assert screen is not None

        async def incident_visible() -> bool:
            await screen.refresh_data().wait()
            await pilot.pause()
            data = app.incident.last_data
            assert data is not None
            firing = {a.name for a in data.alerts if a.state == "firing"}
            return "ModelServingHighErrorRate" in firing and data.rows[0].service == "fraud-scorer"

        for _ in range(60):
            if await incident_visible():
                break
            await pilot.pause(3)
        else:
            pytest.fail("the incident never showed on the triage screen")

        data = app.incident.last_data
        assert data is not None
        assert [s.status(app.clock()) for s in data.sources.values()] == ["fresh", "fresh"]
        signals = [str(r.key.value) for r in screen.query_one(SignalsTable).ordered_rows]
        assert signals[0] == "fraud-scorer" and set(signals) == {"fraud-scorer", "llm-chat", "search-embedder"}
        top = data.rows[0]
        assert top.levels["errors"] in ("warn", "crit") and top.values["errors"] > 0.02
        alert_rows = screen.query_one(AlertsTable)
        first_alert = alert_rows.get_row_at(0)
        assert first_alert[0].plain == "CRIT" and first_alert[1].plain == "ModelServingHighErrorRate"
        names = {a.name for a in data.alerts}
        assert {"TargetDown", "GPUFramebufferMemoryHigh"} <= names
        # for: 1h: pending on a fresh stack, firing once the stack has been up for an hour
        assert any(a.name == "LLMKVCacheSaturated" and a.state in ("pending", "firing") for a in data.alerts)
